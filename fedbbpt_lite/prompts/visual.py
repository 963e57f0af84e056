"""Visual prompts: learnable patterns added to every image before it reaches the black box.

GridPrompt is the low-resolution additive prompt: a grid x grid array of values, upsampled
bilinearly to the image, so that SPSA searches only grid*grid parameters (49 by default)
instead of one per pixel. Prompted input = clip(x + eps * prompt, 0, 1).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..validation import check_count, check_real


class GridPrompt:
    """An input-independent additive prompt with grid*grid*channels parameters."""

    def __init__(self, grid: int = 7, image_size: int = 28, channels: int = 1, eps: float = 1.0):
        self.grid = check_count("grid", grid)
        self.image_size = check_count("image_size", image_size)
        self.channels = check_count("channels", channels)
        self.eps = check_real("eps", eps, positive=True)
        if grid > image_size:
            raise ValueError(f"grid must be <= image_size ({image_size}), got {grid}")

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.grid * self.grid * self.channels

    def init_params(self) -> np.ndarray:
        """Zeros: the prompted model starts exactly at zero-shot."""
        return np.zeros(self.num_params)

    def pattern(self, W) -> torch.Tensor:
        """Image-sized patterns for a batch of parameter vectors: (m, P) -> (m, C, H, W)."""
        W = torch.as_tensor(np.atleast_2d(np.asarray(W, dtype=np.float64)), dtype=torch.float32)
        if W.ndim != 2 or W.shape[1] != self.num_params:
            raise ValueError(f"W must have shape (m, {self.num_params}), got {tuple(W.shape)}")
        low = W.reshape(-1, self.channels, self.grid, self.grid)
        size = (self.image_size, self.image_size)
        return F.interpolate(low, size=size, mode="bilinear", align_corners=False)

    def apply(self, W, images: torch.Tensor) -> torch.Tensor:
        """Prompted copies of the images, one set per parameter vector: (m, N, C, H, W)."""
        images = torch.as_tensor(images, dtype=torch.float32)
        expected = (self.image_size, self.image_size)
        if images.ndim != 4 or tuple(images.shape[-2:]) != expected:
            raise ValueError(
                f"images must have shape (N, C, {self.image_size}, {self.image_size}), "
                f"got {tuple(images.shape)}"
            )
        if images.shape[1] != self.channels and self.channels != 1:
            raise ValueError(f"images must have {self.channels} channels, got {images.shape[1]}")
        prompted = images.unsqueeze(0) + self.eps * self.pattern(W).unsqueeze(1)
        return prompted.clamp(0.0, 1.0)
