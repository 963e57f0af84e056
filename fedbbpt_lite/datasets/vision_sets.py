"""The offline vision suite: what each committed data set is, and how to load it.

Each entry is a few-shot training pool plus a fixed, class-balanced test set, stored as a
compressed .npz of uint8 images under data/vision (built by scripts/build_vision_suite.py).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from ..paths import DATA_DIR
from ..validation import check_template
from .base import VisionDataset
from .manifest import Suite

SUITE = Suite(DATA_DIR / "vision", ".npz")
VISION_DIR, MANIFEST = SUITE.folder, SUITE.manifest
dataset_names, dataset_info, verify_checksums = SUITE.names, SUITE.info, SUITE.verify

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


def load_vision(name: str) -> VisionDataset:
    """Load a committed data set by name (see dataset_names()), or a paper-scale one
    ('blackvip/eurosat', from the data root: see datasets.blackvip)."""
    if isinstance(name, str) and name.startswith("blackvip/"):
        from .blackvip import load_blackvip

        return load_blackvip(name)
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


def load_vision_file(path, template: str = "a photo of a {}") -> VisionDataset:
    """A user's own data set from an .npz with x_train, y_train, x_test, y_test, class_names:
    uint8 or [0, 1] float images, (N, H, W), (N, H, W, C) or (N, C, H, W), resized to 28x28,
    and labels 0..K-1 for the K class names."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} is not a file")
    check_template(template)
    arrays = _read_npz(path)
    missing = [
        k for k in ("x_train", "y_train", "x_test", "y_test", "class_names") if k not in arrays
    ]
    if missing:
        raise ValueError(f"data file {path.name} lacks the arrays {missing}")
    names = tuple(str(n) for n in np.atleast_1d(arrays["class_names"]))
    split = {}
    for part in ("train", "test"):
        x, y = _user_images(arrays[f"x_{part}"], f"x_{part}"), np.asarray(arrays[f"y_{part}"])
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y_{part} must hold one integer label per image of x_{part}")
        if len(y) and (y.min() < 0 or y.max() >= len(names)):
            raise ValueError(
                f"y_{part} labels must lie in 0..{len(names) - 1} (one per class name)"
            )
        split[part] = (x, torch.from_numpy(y.astype(np.int64)))
    return VisionDataset(path.stem, *split["train"], *split["test"], names, template)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz, refusing pickles, with one clear error for any broken file."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not named arrays")
            return {key: f[key] for key in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        message = f"data file {path.name} is not a readable .npz without pickles ({error})"
        raise ValueError(message) from None
    except (AttributeError, TypeError):  # np.load returned a plain array (an .npy renamed)
        raise ValueError(f"data file {path.name} holds a single array, not named arrays") from None


def _user_images(x: np.ndarray, name: str) -> torch.Tensor:
    """(N, C, 28, 28) floats in [0, 1] from a user's array, with errors naming the array."""
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = np.moveaxis(x, -1, 1)
    if x.ndim != 4 or x.shape[1] not in (1, 3) or len(x) == 0:
        raise ValueError(f"{name} must be (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3")
    if np.issubdtype(x.dtype, np.integer):
        if x.min() < 0 or x.max() > 255:
            raise ValueError(f"{name} holds integers outside the pixel range 0..255")
        x = x / 255.0
    elif not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 pixels or floats in [0, 1]")
    elif not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    elif x.min() < 0 or x.max() > 1:
        raise ValueError(f"{name} must be uint8 pixels or floats in [0, 1]")
    images = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if images.shape[-2:] != (28, 28):
        images = torch.nn.functional.interpolate(
            images, size=(28, 28), mode="bilinear", antialias=True, align_corners=False
        ).clamp(0, 1)
    return images
