"""The client's own frozen image encoder for the Coordinator (never the black box's weights).

BlackVIP used a self-supervised MAE ViT-B; this kit ships a small convolutional autoencoder
trained by scripts/build_encoder.py to reconstruct MNIST and Fashion-MNIST training images.
Only its encoder half is used: a 28x28 image becomes an 8 x 7 x 7 feature map.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from ..paths import DATA_DIR

ENCODER_WEIGHTS = DATA_DIR / "encoder" / "autoencoder.safetensors"
FEATURE_SHAPE = (8, 7, 7)


class AutoEncoder(nn.Module):
    """Grey 28x28 image -> 8x7x7 features -> reconstruction, trained on reconstruction alone."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(16, FEATURE_SHAPE[0], 3, stride=2, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.GELU(),
            nn.ConvTranspose2d(FEATURE_SHAPE[0], 16, 4, stride=2, padding=1),
            nn.GELU(),
            nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Features of images in [0, 1], (N, C, 28, 28) -> (N, 8, 7, 7); colour is averaged."""
        return self.encoder(images.mean(1, keepdim=True))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruction of the (grey) images."""
        return self.decoder(self.encode(images))


def load_encoder(path: Path = ENCODER_WEIGHTS) -> AutoEncoder:
    """The committed autoencoder, frozen and in eval mode."""
    model = AutoEncoder()
    model.load_state_dict(load_file(str(path)))
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.eval()
