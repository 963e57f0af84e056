"""CLIP by Hugging Face name or folder, served as a black box: the paper's vision API.

The default, CLIP ViT-B/16, is BlackVIP's black box. It answers the same queries as MiniCLIP,
for images at the model's own resolution (224 pixels for ViT-B/16).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from ..validation import check_count
from .base import BlackBox
from .language_model import hub_source, quiet_transformers

CLIP_VIT_B16 = "openai/clip-vit-base-patch16"
# CLIP's pixel statistics, used when a model folder carries no preprocessor config.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@functools.cache
def load_clip(name: str, device: str = "cpu"):
    """(tokenizer, model, mean, std) of a CLIP name or folder, cached per process and device."""
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"model must be a CLIP model's Hugging Face name or folder, got {name!r}")
    source, local = hub_source(name, "CLIP model")
    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
    model = CLIPModel.from_pretrained(source, local_files_only=local, dtype=torch.float32)
    try:
        processor = CLIPImageProcessor.from_pretrained(source, local_files_only=local)
        mean, std = tuple(processor.image_mean), tuple(processor.image_std)
    except OSError:
        mean, std = CLIP_MEAN, CLIP_STD
    return tokenizer, model.to(device).eval(), mean, std


class CLIPBlackBox(BlackBox):
    """Query a CLIP model as an API: `query(images, prompts)` -> one score per (image, prompt).
    It runs in fp32 unless precision= says otherwise, as BlackVIP does; `pixel_std` is the std
    it normalises pixels by, because BlackVIP adds its prompts in that normalised space."""

    def __init__(
        self,
        model: str = CLIP_VIT_B16,
        batch_size: int = 256,
        device: str | None = None,
        **api_options,
    ):
        super().__init__(**api_options)
        self.model_name = model
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._tokenizer, self._model, mean, std = load_clip(model, str(self.device))
        self.image_size = int(self._model.config.vision_config.image_size)
        self._mean = torch.tensor(mean, device=self.device).view(3, 1, 1)
        self._std = torch.tensor(std, device=self.device).view(3, 1, 1)
        self.pixel_std = tuple(float(v) for v in std)
        self.batch_size = check_count("batch_size", batch_size)
        self._text: dict[tuple[str, ...], torch.Tensor] = {}

    def _prepare(self, inputs, *args) -> tuple[torch.Tensor, tuple]:
        if len(args) != 1:
            raise TypeError("query takes images and one list of prompts: query(images, prompts)")
        prompts = args[0]
        if isinstance(prompts, str) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be a non-empty list of strings")
        images = torch.as_tensor(inputs).detach()
        if not images.is_floating_point():
            raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}")
        images = images.float()
        size = (self.image_size, self.image_size)
        if images.ndim < 3 or tuple(images.shape[-2:]) != size or images.shape[-3] not in (1, 3):
            raise ValueError(
                f"images must have shape (..., C, {size[0]}, {size[1]}) with C 1 or 3, "
                f"got {tuple(images.shape)}"
            )
        if not torch.isfinite(images).all():
            raise ValueError("images must be finite (they contain NaN or inf)")
        if images.min() < 0 or images.max() > 1:
            raise ValueError("images must be in [0, 1] (divide 0..255 pixels by 255)")
        images = images.unsqueeze(0) if images.ndim == 3 else images
        return images.expand(*images.shape[:-3], 3, *size), (tuple(prompts),)

    def _count(self, inputs: torch.Tensor) -> int:
        return int(inputs[..., 0, 0, 0].numel())

    def _text_embeddings(self, prompts: tuple[str, ...]) -> torch.Tensor:
        """Unit-norm embeddings of the class prompts, computed once per prompt list."""
        if prompts not in self._text:
            batch = self._tokenizer(list(prompts), padding=True, return_tensors="pt")
            out = self._model.get_text_features(**batch.to(self.device))
            self._text[prompts] = F.normalize(getattr(out, "pooler_output", out), dim=-1)
        return self._text[prompts]

    def _forward(self, images: torch.Tensor, prompts: tuple[str, ...]) -> torch.Tensor:
        text = self._text_embeddings(prompts)
        scale = self._model.logit_scale.exp()
        flat = images.reshape(-1, *images.shape[-3:])
        rows = []
        for chunk in flat.split(self.batch_size):
            pixels = (chunk.to(self.device) - self._mean) / self._std
            out = self._model.get_image_features(pixel_values=pixels)
            image = F.normalize(getattr(out, "pooler_output", out), dim=-1)
            rows.append((scale * image @ text.T).float().cpu())
        return torch.cat(rows).reshape(*images.shape[:-3], len(prompts))
