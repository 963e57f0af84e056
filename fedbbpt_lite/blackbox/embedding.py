"""A text-embedding API on all-MiniLM-L6-v2: texts in, unit-norm 384-d embeddings out.

The kit's fast offline language-model black box: clients classify by comparing a text's
embedding with those of label descriptions (tasks.text). A prompt is prepended text, or a soft
prompt of input embeddings inserted before the text, as BBT and FedBPT assume an API accepts.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from .base import BlackBox
from .text_encoder import EMBED_DIM, shared_text_encoder


class EmbeddingBlackBox(BlackBox):
    """Query all-MiniLM-L6-v2 as an API: `query(texts, soft_prompt=None)` -> (len(texts), 384)."""

    outputs = ("embedding",)
    cacheable = True

    def __init__(self, **api_options):
        super().__init__(**{"output": "embedding", **api_options})
        self._encoder = shared_text_encoder()

    def _prepare(self, inputs, soft_prompt=None) -> tuple[list[str], tuple]:
        if isinstance(inputs, str) or not isinstance(inputs, list | tuple):
            raise TypeError("texts must be a list of strings (wrap a single text in a list)")
        if not inputs or not all(isinstance(text, str) and text.strip() for text in inputs):
            raise ValueError("texts must be a non-empty list of non-blank strings")
        if soft_prompt is None:
            return list(inputs), (None,)
        if isinstance(soft_prompt, str) or not isinstance(soft_prompt, np.ndarray | torch.Tensor):
            raise TypeError("soft_prompt must be an array of input embeddings, (tokens, 384)")
        soft_prompt = torch.as_tensor(np.asarray(soft_prompt, dtype=np.float32))
        if soft_prompt.ndim != 2 or soft_prompt.shape[1] != EMBED_DIM or not len(soft_prompt):
            raise ValueError(
                f"soft_prompt must have shape (tokens >= 1, {EMBED_DIM}), got "
                f"{tuple(soft_prompt.shape)}"
            )
        if not torch.isfinite(soft_prompt).all():
            raise ValueError("soft_prompt must be finite")
        return list(inputs), (soft_prompt,)

    def _count(self, inputs: list[str]) -> int:
        return len(inputs)

    def _keys(self, inputs: list[str], args: tuple) -> list:
        (soft_prompt,) = args
        if soft_prompt is None:
            return inputs
        digest = hashlib.sha256(soft_prompt.numpy().tobytes()).hexdigest()
        return [(digest, text) for text in inputs]

    def _take(self, inputs: list[str], index: list[int]) -> list[str]:
        return [inputs[i] for i in index]

    def _forward(self, texts: list[str], soft_prompt: torch.Tensor | None) -> torch.Tensor:
        return self._encoder.encode(texts, soft_prompt)
