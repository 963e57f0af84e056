"""Distribution shifts that turn MiniCLIP's training domain into prompt-tuning tasks.

Pure functions on float images in [0, 1], (N, 28, 28) -> (N, 28, 28) or (N, 28, 28, 3). An
additive visual prompt can undo photometric shifts (contrast, inversion, noise, background
colour) but not geometric ones (rotation, translation, scale), as the lessons show.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# Ten distinct pastel background colours for Biased-MNIST (RGB in [0, 1]).
PALETTE = np.array(
    [
        [0.94, 0.46, 0.46],
        [0.46, 0.76, 0.46],
        [0.46, 0.52, 0.94],
        [0.94, 0.88, 0.46],
        [0.76, 0.46, 0.82],
        [0.46, 0.82, 0.82],
        [0.97, 0.70, 0.46],
        [0.70, 0.58, 0.46],
        [0.76, 0.76, 0.76],
        [0.94, 0.64, 0.82],
    ]
)


def low_contrast(x: np.ndarray, contrast: float = 0.12, level: float = 0.5) -> np.ndarray:
    """Squeeze intensities into [level, level + contrast] (a washed-out scan)."""
    return level + contrast * x


def invert(x: np.ndarray) -> np.ndarray:
    """Dark strokes on a white ground."""
    return 1.0 - x


def rotate90(x: np.ndarray) -> np.ndarray:
    """A quarter turn anticlockwise."""
    return np.rot90(x, k=1, axes=(1, 2)).copy()


def gaussian_noise(x: np.ndarray, rng: np.random.Generator, sigma: float = 0.4) -> np.ndarray:
    """Additive pixel noise, clipped back to [0, 1]."""
    return np.clip(x + rng.normal(0.0, sigma, x.shape), 0.0, 1.0)


def colour_background(
    x: np.ndarray, labels: np.ndarray, rng: np.random.Generator, rho: float
) -> np.ndarray:
    """Biased-MNIST: a background colour that matches the label's with probability rho."""
    other = (labels + rng.integers(1, 10, len(labels))) % 10
    colour_idx = np.where(rng.random(len(labels)) < rho, labels, other)
    colours = PALETTE[colour_idx][:, None, None, :]
    stroke = x[..., None]
    return stroke + (1.0 - stroke) * colours


def resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear, antialiased resize of (N, H, W) images to (N, size, size)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).unsqueeze(1)
    out = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.squeeze(1).clamp(0, 1).numpy().astype(np.float64)


def upsample_to_mnist(x8: np.ndarray) -> np.ndarray:
    """scikit-learn's 8x8 digits (values 0..16) blown up to MNIST's 20x20 box in a 28x28 frame."""
    out = np.zeros((len(x8), 28, 28))
    out[:, 4:24, 4:24] = resize(x8 / 16.0, 20)
    return out


def relocate(x: np.ndarray, rng: np.random.Generator, size: int = 12) -> np.ndarray:
    """Loc-MNIST in spirit: shrink each digit to size x size and drop it at a random place."""
    small = resize(x, size)
    out = np.zeros_like(x)
    rows = rng.integers(0, 28 - size + 1, len(x))
    cols = rng.integers(0, 28 - size + 1, len(x))
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        out[i, r : r + size, c : c + size] = small[i]
    return out
