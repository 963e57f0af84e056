"""The offline vision suite: what each committed data set is, and how to load it.

Each entry is a few-shot training pool plus a fixed, class-balanced test set, stored as a
compressed .npz of uint8 images under data/vision (built by scripts/build_vision_suite.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

VISION_DIR = Path(__file__).resolve().parents[2] / "data" / "vision"

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FASHION_NAMES = (
    "T-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
DIGIT_TEMPLATE = "a photo of the digit {}"
FASHION_TEMPLATE = "a photo of a {}"
