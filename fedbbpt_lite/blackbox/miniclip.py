"""MiniCLIP: the kit's small stand-in for CLIP, served as a black box.

A small CNN image tower was trained (LiT-style, by scripts/build_miniclip.py) to match the
frozen all-MiniLM-L6-v2 embeddings of class prompts on MNIST and Fashion-MNIST. Like CLIP,
it scores images against any list of text prompts: logits = scale * cosine(image, text).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, safe_open
from torch import nn

from ..paths import DATA_DIR
from .base import BlackBox
from .text_encoder import EMBED_DIM, shared_text_encoder

IMAGE_SHAPE = (3, 28, 28)
WEIGHTS = DATA_DIR / "miniclip" / "miniclip.safetensors"


class ImageTower(nn.Module):
    """Three conv blocks then a linear map into MiniLM's 384-d embedding space."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 5, padding=2),
            nn.GELU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.GELU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1),
            nn.GELU(),
            nn.AdaptiveAvgPool2d(3),
            nn.Flatten(),
        )
        self.project = nn.Linear(4 * width * 9, EMBED_DIM)
        self.log_scale = nn.Parameter(torch.tensor(2.659))  # log(1 / 0.07), as in CLIP

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings of images in [0, 1], (N, 3, 28, 28); channels-last about halves
        the CPU time of the convolutions and poolings."""
        images = (2 * images - 1).contiguous(memory_format=torch.channels_last)
        return F.normalize(self.project(self.features(images)), dim=-1)

    def logits(self, images: torch.Tensor, text_embeddings: torch.Tensor) -> torch.Tensor:
        """CLIP's scores: scale * cosine similarity, scale capped at 100."""
        scale = self.log_scale.exp().clamp(max=100.0)
        return scale * self.forward(images) @ text_embeddings.T


def load_image_tower(path: Path = WEIGHTS) -> ImageTower:
    """The committed MiniCLIP image tower, in eval mode (weights from safetensors)."""
    with safe_open(str(path), framework="pt") as handle:
        width = json.loads(handle.metadata()["config"])["width"]
    tower = ImageTower(width)
    tower.load_state_dict(load_file(str(path)))
    return tower.to(memory_format=torch.channels_last).eval()


class MiniCLIPBlackBox(BlackBox):
    """Query MiniCLIP as an API: `query(images, prompts)` -> one score per (image, prompt).
    Leading image dimensions are kept, so several prompted batches go in one call; each image
    is one billed example whatever the number of prompts (class prompts are not billed)."""

    def __init__(self, weights: Path = WEIGHTS, **api_options):
        super().__init__(**api_options)
        self._tower = load_image_tower(weights)
        self._text = shared_text_encoder()

    def _prepare(self, inputs, *args) -> tuple[torch.Tensor, tuple]:
        if len(args) != 1:
            raise TypeError("query takes images and one list of prompts: query(images, prompts)")
        prompts = [args[0]] if isinstance(args[0], str) else list(args[0])
        if isinstance(args[0], str) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be a non-empty list of strings")
        images = torch.as_tensor(inputs).detach()
        if not images.is_floating_point():
            raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}")
        images = images.float()
        if not torch.isfinite(images).all():
            raise ValueError("images must be finite (they contain NaN or inf)")
        if images.numel() and (images.min() < 0 or images.max() > 1):
            raise ValueError("images must be in [0, 1] (divide 0..255 pixels by 255)")
        if images.ndim < 3 or tuple(images.shape[-2:]) != IMAGE_SHAPE[1:]:
            raise ValueError(f"images must have shape (..., C, 28, 28), got {tuple(images.shape)}")
        if images.shape[-3] not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels, got {images.shape[-3]}")
        if images.ndim == 3:
            images = images.unsqueeze(0)
        return images.expand(*images.shape[:-3], 3, 28, 28), (prompts,)

    def _count(self, inputs: torch.Tensor) -> int:
        return int(inputs[..., 0, 0, 0].numel())

    def _forward(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        text = self._text.encode(prompts)
        flat = images.reshape(-1, *IMAGE_SHAPE)
        return self._tower.logits(flat, text).reshape(*images.shape[:-3], len(prompts))
