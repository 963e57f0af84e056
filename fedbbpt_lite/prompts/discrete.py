"""Discrete prompts for BDPL: which words a prompt may use, and the text of a sampled prompt.

The candidate vocabulary is chosen from public information only: the encoder's public
vocabulary, its input embeddings and the task's class names. No client text is read, so the
server can choose it and send it to every client.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_count, check_rng


def whole_words(vocabulary: list[str]) -> np.ndarray:
    """Indices of vocabulary entries that are plain lower-case words of at least 3 letters
    (no sub-word pieces, special tokens or numbers)."""
    return np.array(
        [i for i, t in enumerate(vocabulary) if t.isalpha() and t.islower() and len(t) >= 3]
    )


def candidate_vocabulary(
    vocabulary: list[str], token_embeddings, class_tokens: list[list[int]], size: int
) -> list[str]:
    """`size` whole words nearest (cosine of input embeddings) to the class names, taken from
    each class in turn: a topical candidate set built without any client data."""
    size = check_count("size", size, minimum=2)
    embeddings = np.asarray(token_embeddings, dtype=np.float64)
    if embeddings.shape[0] != len(vocabulary):
        raise ValueError("token_embeddings must have one row per vocabulary entry")
    if not class_tokens or not all(class_tokens):
        raise ValueError("class_tokens must give at least one token id per class")
    words = whole_words(vocabulary)
    if size > len(words):
        raise ValueError(f"size must be at most {len(words)} (whole words), got {size}")
    unit = embeddings[words] / np.linalg.norm(embeddings[words], axis=1, keepdims=True)
    rankings = []
    for ids in class_tokens:
        centre = embeddings[ids].mean(axis=0)
        rankings.append(words[np.argsort(-(unit @ (centre / np.linalg.norm(centre))))])
    chosen: list[int] = []
    for rank in range(len(words)):
        for ranking in rankings:
            if ranking[rank] not in chosen and len(chosen) < size:
                chosen.append(int(ranking[rank]))
        if len(chosen) == size:
            break
    return [vocabulary[i] for i in chosen]


def random_words(vocabulary: list[str], count: int, rng: np.random.Generator) -> list[str]:
    """`count` distinct whole words drawn uniformly: the random-prompt control."""
    count = check_count("count", count)
    check_rng(rng)
    words = whole_words(vocabulary)
    return [vocabulary[i] for i in rng.choice(words, count, replace=False)]


def prompt_text(candidates: list[str], indices) -> str:
    """The words a prompt (one candidate index per position) puts in front of each input."""
    indices = np.asarray(indices)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices must be a 1-d array of integers, got {indices.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= len(candidates)):
        raise ValueError(f"indices must lie in [0, {len(candidates)}), got {indices.tolist()}")
    return " ".join(candidates[i] for i in indices)
