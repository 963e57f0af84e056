"""A text-embedding API on all-MiniLM-L6-v2: texts in, unit-norm 384-d embeddings out.

The kit's fast offline language-model black box. Clients classify by comparing a text's
embedding with those of label descriptions (fedbbpt_lite.tasks.text); a prompt is text they
prepend to every input. Each text counts as one example on the meter; with cache=True a text
asked before is answered from the cache and not billed again.
"""

from __future__ import annotations

import torch

from .base import BlackBox
from .text_encoder import shared_text_encoder


class EmbeddingBlackBox(BlackBox):
    """Query all-MiniLM-L6-v2 as an API: `query(texts)` -> array (len(texts), 384)."""

    outputs = ("embedding",)
    cacheable = True

    def __init__(self, **api_options):
        super().__init__(**{"output": "embedding", **api_options})
        self._encoder = shared_text_encoder()

    def _prepare(self, inputs, *args) -> tuple[list[str], tuple]:
        if args:
            raise TypeError("query takes one list of texts: query(texts)")
        if isinstance(inputs, str) or not isinstance(inputs, list | tuple):
            raise TypeError("texts must be a list of strings (wrap a single text in a list)")
        if not inputs or not all(isinstance(text, str) and text.strip() for text in inputs):
            raise ValueError("texts must be a non-empty list of non-blank strings")
        return list(inputs), ()

    def _count(self, inputs: list[str]) -> int:
        return len(inputs)

    def _keys(self, inputs: list[str], args: tuple) -> list[str]:
        return inputs

    def _take(self, inputs: list[str], index: list[int]) -> list[str]:
        return [inputs[i] for i in index]

    def _forward(self, texts: list[str]) -> torch.Tensor:
        return self._encoder.encode(texts)
