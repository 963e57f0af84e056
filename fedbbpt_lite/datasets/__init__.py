"""The offline vision, text and instruction-induction suites, the shifts that built the vision
one, and the paper's data sets (GLUE, BlackVIP's image sets) for users who download them."""

from .base import InstructionDataset, TextDataset, VisionDataset, unit_images
from .blackvip import blackvip_names, load_blackvip
from .glue import glue_names, load_glue
from .instruction_sets import (
    instruction_task_info,
    instruction_task_names,
    load_instruction_file,
    load_instructions,
)
from .text_sets import load_text, text_dataset_info, text_dataset_names
from .vision_sets import dataset_info, dataset_names, load_vision

__all__ = [
    "InstructionDataset",
    "TextDataset",
    "VisionDataset",
    "blackvip_names",
    "dataset_info",
    "dataset_names",
    "glue_names",
    "instruction_task_info",
    "instruction_task_names",
    "load_instruction_file",
    "load_instructions",
    "load_blackvip",
    "load_glue",
    "load_text",
    "load_vision",
    "text_dataset_info",
    "text_dataset_names",
    "unit_images",
]
