"""BBT's soft prompt: a few input embeddings searched through a low-dimensional vector z.

The prompt is start + A z, reshaped to (tokens, 384): `start` is a fixed initial prompt (the
embeddings of some words) and A a fixed random projection from d dimensions, drawn from a seed
that every client shares, so only z (d numbers) is ever optimised, sent or averaged.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_count, check_real


class SoftPrompt:
    """Soft prompt start + (z @ A).reshape(tokens, width). A's std, scale / (sqrt(d) * sigma), is
    BBT's (bbt.py: scale = alpha x the embeddings' std, sigma = CMA-ES's initial step), so that
    CMA-ES's first candidates, z ~ N(0, sigma^2 I), move each prompt entry by about `scale`."""

    def __init__(
        self,
        start,
        intrinsic_dim: int = 50,
        scale: float = 1.0,
        seed: int = 0,
        sigma: float = 1.0,
    ):
        start = np.asarray(start, dtype=np.float32)
        if start.ndim != 2 or not len(start) or not np.isfinite(start).all():
            raise ValueError(f"start must be a finite (tokens, width) array, got {start.shape}")
        self.start = start
        self.num_params = check_count("intrinsic_dim", intrinsic_dim)
        check_real("scale", scale, positive=True)
        check_real("sigma", sigma, positive=True)
        rng = np.random.default_rng(seed)
        size = (self.num_params, start.size)
        std = scale / (np.sqrt(self.num_params) * sigma)
        self.projection = rng.normal(0, std, size).astype(np.float32)

    @property
    def tokens(self) -> int:
        """How many embeddings the prompt inserts."""
        return len(self.start)

    def init_params(self) -> np.ndarray:
        """z = 0: the start prompt itself."""
        return np.zeros(self.num_params)

    def embeddings(self, z) -> np.ndarray:
        """The soft prompt of z, (tokens, width)."""
        z = np.asarray(z, dtype=np.float64)
        if z.shape != (self.num_params,) or not np.isfinite(z).all():
            raise ValueError(f"z must be {self.num_params} finite numbers, got shape {z.shape}")
        return self.start + (z @ self.projection).astype(np.float32).reshape(self.start.shape)


def nearest_words(soft_prompt, vocabulary: list[str], token_embeddings) -> list[str]:
    """For each row of a soft prompt, the vocabulary token whose input embedding is nearest by
    cosine: a rough reading of what a soft prompt 'says' (it need not be near any word)."""
    rows = np.asarray(soft_prompt, dtype=np.float64)
    table = np.asarray(token_embeddings, dtype=np.float64)
    if rows.ndim != 2 or table.ndim != 2 or rows.shape[1] != table.shape[1]:
        raise ValueError("soft_prompt and token_embeddings must be 2-d with the same width")
    if len(table) != len(vocabulary):
        raise ValueError("token_embeddings must have one row per vocabulary entry")
    rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    table = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    return [vocabulary[i] for i in (rows @ table.T).argmax(axis=1)]
