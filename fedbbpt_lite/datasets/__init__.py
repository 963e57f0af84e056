"""The offline vision and text suites, and the shifts that built the vision one."""

from .registry import VisionDataset, dataset_info, dataset_names, load_vision
from .text import TextDataset, load_text, text_dataset_info, text_dataset_names

__all__ = [
    "TextDataset",
    "VisionDataset",
    "dataset_info",
    "dataset_names",
    "load_text",
    "load_vision",
    "text_dataset_info",
    "text_dataset_names",
]
