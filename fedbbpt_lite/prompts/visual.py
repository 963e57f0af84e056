"""Input-independent visual prompts: one learnable pattern added to every image.

GridPrompt is upsampled bilinearly from a grid x grid array, so that SPSA searches only
grid*grid parameters (49 by default) instead of one per pixel. PaddingPrompt learns a frame of
`pad` pixels around the image, as in visual prompting (Bahng et al., 2022).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
import torch.nn.functional as F

from ..validation import check_count, check_real


def add_prompt(images, prompts, eps: float, pixel_std=None) -> torch.Tensor:
    """Images (N, C, H, W) in [0, 1] plus prompts (m, N or 1, C, H, W) -> (m, N, C, H, W). With
    pixel_std the prompt is added in the black box's normalised pixel space, as BlackVIP prompts
    CLIP: clip(x + eps * std * prompt, 0, 1) per channel (a grey image gains 3 channels)."""
    scale = torch.as_tensor(eps, dtype=torch.float32, device=images.device)
    if pixel_std is not None:
        std = torch.as_tensor(pixel_std, dtype=torch.float32, device=images.device)
        scale = scale * std.view(-1, 1, 1)
    return (images.unsqueeze(0) + scale * prompts).clamp(0.0, 1.0)


def parameter_rows(W, num_params: int, device=None) -> torch.Tensor:
    """Parameter vectors as an (m, num_params) float32 tensor, on `device` when given (the
    images'). A torch tensor keeps its autograd graph (white-box tuning backpropagates through
    it); anything else is converted."""
    if isinstance(W, torch.Tensor):
        W = W.float()
    else:
        W = torch.as_tensor(np.asarray(W, dtype=np.float64), dtype=torch.float32)
    W = W.unsqueeze(0) if W.ndim == 1 else W
    if W.ndim != 2 or W.shape[1] != num_params:
        raise ValueError(f"W must have shape (m, {num_params}), got {tuple(W.shape)}")
    return W if device is None else W.to(device)


def check_pixel_std(pixel_std) -> tuple[float, ...] | None:
    """None, or one positive std per channel (1 or 3 of them)."""
    if pixel_std is None:
        return None
    values = tuple(float(v) for v in np.atleast_1d(pixel_std))
    if len(values) not in (1, 3) or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"pixel_std must be None or 1 or 3 positive numbers, got {pixel_std!r}")
    return values


class _AdditivePrompt(ABC):
    """Shared by the input-independent prompts: validation and add_prompt."""

    def __init__(self, image_size: int, channels: int, eps: float, pixel_std=None):
        self.image_size = check_count("image_size", image_size)
        self.channels = check_count("channels", channels)
        self.eps = check_real("eps", eps, positive=True)
        self.pixel_std = check_pixel_std(pixel_std)

    @property
    @abstractmethod
    def num_params(self) -> int:
        """Length of the flat parameter vector."""

    def init_params(self) -> np.ndarray:
        """Zeros: the prompted model starts exactly at zero-shot."""
        return np.zeros(self.num_params)

    @abstractmethod
    def pattern(self, W) -> torch.Tensor:
        """Image-sized patterns for a batch of parameter vectors: (m, P) -> (m, C, H, W)."""

    def apply(self, W, images) -> torch.Tensor:
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
        W = parameter_rows(W, self.num_params, images.device)  # drawn where the images are
        return add_prompt(images, self.pattern(W).unsqueeze(1), self.eps, self.pixel_std)


class GridPrompt(_AdditivePrompt):
    """An input-independent additive prompt with grid*grid*channels parameters."""

    def __init__(
        self,
        grid: int = 7,
        image_size: int = 28,
        channels: int = 1,
        eps: float = 1.0,
        pixel_std=None,
    ):
        super().__init__(image_size, channels, eps, pixel_std)
        self.grid = check_count("grid", grid)
        if grid > image_size:
            raise ValueError(f"grid must be <= image_size ({image_size}), got {grid}")

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.grid * self.grid * self.channels

    def pattern(self, W) -> torch.Tensor:
        """Image-sized patterns: each row of W upsampled from grid x grid to the image."""
        W = parameter_rows(W, self.num_params)
        low = W.reshape(-1, self.channels, self.grid, self.grid)
        size = (self.image_size, self.image_size)
        return F.interpolate(low, size=size, mode="bilinear", align_corners=False)


class PaddingPrompt(_AdditivePrompt):
    """A learnable frame `pad` pixels wide around the image; the centre is left untouched."""

    def __init__(
        self,
        pad: int = 3,
        image_size: int = 28,
        channels: int = 1,
        eps: float = 1.0,
        pixel_std=None,
    ):
        super().__init__(image_size, channels, eps, pixel_std)
        self.pad = check_count("pad", pad)
        if 2 * pad >= image_size:
            raise ValueError(f"pad must be below image_size / 2 ({image_size / 2:g}), got {pad}")
        frame = torch.ones(image_size, image_size, dtype=torch.bool)
        frame[pad:-pad, pad:-pad] = False
        self._frame = frame

    @property
    def num_params(self) -> int:
        """Frame pixels times channels."""
        return int(self._frame.sum()) * self.channels

    def pattern(self, W) -> torch.Tensor:
        """The frame values of each row of W placed around a zero centre."""
        W = parameter_rows(W, self.num_params)
        size = (self.image_size, self.image_size)
        out = torch.zeros(len(W), self.channels, *size, device=W.device)
        out[:, :, self._frame.to(W.device)] = W.reshape(len(W), self.channels, -1)
        return out
