"""Visual prompts: learnable patterns added to every image before it reaches the black box.

GridPrompt is the low-resolution additive prompt: a grid x grid array of values, upsampled
bilinearly to the image, so that SPSA searches only grid*grid parameters (49 by default)
instead of one per pixel. Prompted input = clip(x + eps * prompt, 0, 1).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


class GridPrompt:
    """An input-independent additive prompt with grid*grid*channels parameters."""

    def __init__(self, grid: int = 7, image_size: int = 28, channels: int = 1, eps: float = 1.0):
        for name, value in (("grid", grid), ("image_size", image_size), ("channels", channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if grid > image_size:
            raise ValueError(f"grid must be <= image_size ({image_size}), got {grid}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.grid, self.image_size, self.channels, self.eps = grid, image_size, channels, eps

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.grid * self.grid * self.channels

    def init_params(self) -> np.ndarray:
        """Zeros: the prompted model starts exactly at zero-shot."""
        return np.zeros(self.num_params)

    def pattern(self, W) -> torch.Tensor:
        """Image-sized patterns for a batch of parameter vectors: (m, P) -> (m, C, H, W)."""
        W = torch.as_tensor(np.atleast_2d(W), dtype=torch.float32)
        if W.ndim != 2 or W.shape[1] != self.num_params:
            raise ValueError(f"W must have shape (m, {self.num_params}), got {tuple(W.shape)}")
        low = W.reshape(-1, self.channels, self.grid, self.grid)
        size = (self.image_size, self.image_size)
        return F.interpolate(low, size=size, mode="bilinear", align_corners=False)

    def apply(self, W, images: torch.Tensor) -> torch.Tensor:
        """Prompted copies of the images, one set per parameter vector: (m, N, C, H, W)."""
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
        prompted = images.unsqueeze(0) + self.eps * self.pattern(W).unsqueeze(1)
        return prompted.clamp(0.0, 1.0)
