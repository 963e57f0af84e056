"""A valid tiny user data set (two classes of 28x28 uint8 images) for loader and CLI tests."""

from pathlib import Path

import numpy as np

CLASSES = ["cat", "dog"]


def tiny_arrays(**overrides) -> dict:
    """8 training and 6 test images; an override of None drops that array."""
    rng = np.random.default_rng(0)
    data = {
        "x_train": rng.integers(0, 256, (8, 28, 28), dtype=np.uint8),
        "y_train": np.array([0, 1] * 4),
        "x_test": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_test": np.array([0, 1] * 3),
        "class_names": np.array(CLASSES),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def write_tiny_npz(path: Path, **overrides) -> Path:
    """Save tiny_arrays(**overrides) to path and return it."""
    np.savez(path, **tiny_arrays(**overrides))
    return path
