"""The offline vision and text suites, the shifts that built the vision one, and the paper's
data sets (GLUE, BlackVIP's image sets) for users who download them."""

from .blackvip import blackvip_names, load_blackvip
from .glue import glue_names, load_glue
from .registry import VisionDataset, dataset_info, dataset_names, load_vision
from .text import TextDataset, load_text, text_dataset_info, text_dataset_names

__all__ = [
    "TextDataset",
    "VisionDataset",
    "blackvip_names",
    "dataset_info",
    "dataset_names",
    "glue_names",
    "load_blackvip",
    "load_glue",
    "load_text",
    "load_vision",
    "text_dataset_info",
    "text_dataset_names",
]
