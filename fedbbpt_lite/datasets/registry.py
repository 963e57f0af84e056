"""The offline vision suite: what each committed data set is, and how to load it.

Each entry is a few-shot training pool plus a fixed, class-balanced test set, stored as a
compressed .npz of uint8 images under data/vision (built by scripts/build_vision_suite.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..paths import DATA_DIR

VISION_DIR = DATA_DIR / "vision"

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
MANIFEST = VISION_DIR / "manifest.json"


@dataclass(frozen=True)
class VisionDataset:
    """A few-shot pool and a test set as float tensors in [0, 1], shape (N, C, 28, 28)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    template: str

    @property
    def prompts(self) -> list[str]:
        """The manual zero-shot prompt of each class, e.g. 'a photo of the digit zero'."""
        return [self.template.format(name) for name in self.class_names]


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def dataset_names() -> list[str]:
    """Names of the committed vision data sets, in suite order."""
    return list(_manifest())


def dataset_info(name: str) -> dict:
    """Description, shift kind, source, sizes and checksum of one committed data set."""
    manifest = _manifest()
    if name not in manifest:
        raise ValueError(f"name must be one of {sorted(manifest)}, got {name!r}")
    return manifest[name]


def load_vision(name: str) -> VisionDataset:
    """Load a committed data set by name (see dataset_names())."""
    dataset_info(name)
    with np.load(VISION_DIR / f"{name}.npz", allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    return VisionDataset(
        name=name,
        x_train=torch.from_numpy(arrays["x_train"]).float() / 255,
        y_train=torch.from_numpy(arrays["y_train"]),
        x_test=torch.from_numpy(arrays["x_test"]).float() / 255,
        y_test=torch.from_numpy(arrays["y_test"]),
        class_names=tuple(str(n) for n in arrays["class_names"]),
        template=str(arrays["template"]),
    )


def verify_checksums() -> dict[str, bool]:
    """Whether each committed file is present and still matches the SHA-256 in the manifest."""
    return {
        name: _file_matches(VISION_DIR / f"{name}.npz", info["sha256"])
        for name, info in _manifest().items()
    }


def _file_matches(path: Path, sha256: str) -> bool:
    return path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256
