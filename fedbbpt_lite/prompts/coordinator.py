"""BlackVIP's Coordinator: prompted input = clip(x + eps * decoder([encoder(x), trigger])).

init="zero" makes the untuned Coordinator reproduce zero-shot exactly; "blackvip" starts as
BlackVIP does. BatchNorm uses batch statistics, so a prompt depends only on parameters and
images. It runs where the images are (with a GPU black box, the pool stays on its device).
Larger images get an upsampled 28x28 prompt (BlackVIP decodes MAE ViT-B features to full size).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..validation import check_choice, check_count, check_real
from .image_encoder import FEATURE_SHAPE, load_encoder
from .visual import add_prompt, check_pixel_std, parameter_rows

PROMPT_SIZE = 28  # the side of the prompt the decoder draws (and of the encoder's input)
INITS = ("zero", "blackvip")


class Decoder(nn.Module):
    """(features + trigger) 9x7x7 -> transposed convolutions with BatchNorm and GELU -> CxHxW."""

    def __init__(self, channels: int = 1, width: int = 24, init: str = "zero"):
        super().__init__()
        self.trigger = nn.Parameter(torch.zeros(1, 1, *FEATURE_SHAPE[1:]))
        self.layers = nn.Sequential(
            nn.ConvTranspose2d(FEATURE_SHAPE[0] + 1, width, 4, stride=2, padding=1),
            nn.BatchNorm2d(width, track_running_stats=False),
            nn.GELU(),
            nn.ConvTranspose2d(width, width // 2, 4, stride=2, padding=1),
            nn.BatchNorm2d(width // 2, track_running_stats=False),
            nn.GELU(),
            nn.Conv2d(width // 2, channels, 3, padding=1),
        )
        if init == "blackvip":
            nn.init.uniform_(self.trigger, 0.0, 0.1)
        else:
            nn.init.zeros_(self.layers[-1].weight)
            nn.init.zeros_(self.layers[-1].bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        trigger = self.trigger.expand(len(features), -1, -1, -1)
        return self.layers(torch.cat([features, trigger], dim=1))


class Coordinator:
    """Input-dependent prompt generator with a flat parameter vector of num_params entries."""

    def __init__(
        self,
        channels: int = 1,
        eps: float = 1.0,
        width: int = 24,
        seed: int = 0,
        image_size: int = PROMPT_SIZE,
        pixel_std=None,
        init: str = "zero",
    ):
        self.channels = check_count("channels", channels)
        self.eps = check_real("eps", eps, positive=True)
        self.image_size = check_count("image_size", image_size, minimum=PROMPT_SIZE)
        self.pixel_std = check_pixel_std(pixel_std)
        self.init = check_choice("init", init, INITS)
        with torch.random.fork_rng():
            torch.manual_seed(check_count("seed", seed, minimum=0))
            width = check_count("width", width, minimum=2)
            self._decoder = Decoder(channels, width, init)
        self._encoder = load_encoder()
        self._names = [name for name, _ in self._decoder.named_parameters()]
        self._shapes = [p.shape for _, p in self._decoder.named_parameters()]
        self._init = torch.cat([p.detach().flatten() for p in self._decoder.parameters()])

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector (decoder and trigger)."""
        return int(self._init.numel())

    def init_params(self) -> np.ndarray:
        """The decoder and trigger as `init` starts them (with "zero", a prompt of zero)."""
        return self._init.double().numpy().copy()

    def _unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        sizes = [int(np.prod(shape)) for shape in self._shapes]
        pieces = torch.split(flat, sizes)
        return {n: p.reshape(s) for n, p, s in zip(self._names, pieces, self._shapes, strict=True)}

    def prompts(self, W, images: torch.Tensor) -> torch.Tensor:
        """The prompt each parameter vector draws for each image: (m, N, C, S, S), S the
        image size."""
        W = parameter_rows(W, self.num_params, images.device)
        if self._decoder.trigger.device != images.device:  # follow a GPU black box's pool
            self._decoder.to(images.device)
            self._encoder.to(images.device)
        size = (self.image_size, self.image_size)
        with torch.no_grad():
            if size != (PROMPT_SIZE, PROMPT_SIZE):
                images = F.interpolate(images, size=PROMPT_SIZE, mode="area")
            features = self._encoder.encode(images)
        with torch.set_grad_enabled(W.requires_grad):
            drawn = torch.stack(
                [functional_call(self._decoder, self._unflatten(w), (features,)) for w in W]
            )
        if size == (PROMPT_SIZE, PROMPT_SIZE):
            return drawn
        upsampled = F.interpolate(drawn.flatten(0, 1), size=size, mode="bilinear")
        return upsampled.reshape(*drawn.shape[:3], *size)

    def apply(self, W, images) -> torch.Tensor:
        """Prompted copies of the images, one set per parameter vector: (m, N, C, S, S)."""
        images = torch.as_tensor(images, dtype=torch.float32)
        size = (self.image_size, self.image_size)
        if images.ndim != 4 or tuple(images.shape[-2:]) != size:
            raise ValueError(
                f"images must have shape (N, C, {size[0]}, {size[1]}), got {tuple(images.shape)}"
            )
        if self.channels not in (1, images.shape[1]):
            raise ValueError(f"images must have {self.channels} channels, got {images.shape[1]}")
        return add_prompt(images, self.prompts(W, images), self.eps, self.pixel_std)
