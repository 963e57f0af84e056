"""The offline vision suite and the shifts that built it."""

from .registry import VisionDataset, dataset_info, dataset_names, load_vision

__all__ = ["VisionDataset", "dataset_info", "dataset_names", "load_vision"]
