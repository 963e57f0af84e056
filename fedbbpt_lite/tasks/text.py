"""Wire a text prompt to an embedding API: a prompt is words prepended to every input, and a
class is the label description whose embedding is closest (cosine) to the prompted text's.

Everything after the API call runs on the client; label descriptions go through the API in the
same call as the texts, so a classification costs one call.
"""

from __future__ import annotations

import numpy as np

from ..blackbox.embedding import EmbeddingBlackBox

SCALE = 100.0  # CLIP-style logit scale on cosine similarities


def with_prompt(prompt: str, texts) -> list[str]:
    """Each text with the prompt in front (an empty prompt leaves the texts as they are)."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
    prompt = " ".join(prompt.split())
    return [f"{prompt} {text}" if prompt else text for text in texts]


def class_logits(
    api: EmbeddingBlackBox, texts, class_prompts: list[str], prompt: str = ""
) -> np.ndarray:
    """SCALE x cosine similarity of each prompted text to each class description: (N, K)."""
    if isinstance(class_prompts, str) or len(class_prompts) < 2:
        raise ValueError("class_prompts must list at least two class descriptions")
    embeddings = api.query(list(class_prompts) + with_prompt(prompt, texts))
    classes, inputs = embeddings[: len(class_prompts)], embeddings[len(class_prompts) :]
    return SCALE * inputs @ classes.T


def text_accuracy(
    api: EmbeddingBlackBox, texts, labels, class_prompts: list[str], prompt: str = ""
) -> float:
    """Top-1 accuracy of the nearest class description, with the prompt prepended."""
    labels = np.asarray(labels)
    if labels.shape != (len(texts),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(texts)} integers, got shape {labels.shape}")
    predicted = class_logits(api, texts, class_prompts, prompt).argmax(-1)
    return float((predicted == labels).mean())


def label_embeddings(api: EmbeddingBlackBox, class_prompts: list[str]) -> np.ndarray:
    """The class descriptions' embeddings, (K, 384): one call, made once and kept by a client
    that tunes a soft prompt (the soft prompt goes in front of inputs only)."""
    if isinstance(class_prompts, str) or len(class_prompts) < 2:
        raise ValueError("class_prompts must list at least two class descriptions")
    return api.query(list(class_prompts))


def soft_class_logits(
    api: EmbeddingBlackBox, texts, class_embeddings: np.ndarray, soft_prompt
) -> np.ndarray:
    """SCALE x cosine similarity of each soft-prompted text to each class embedding: (N, K)."""
    return SCALE * api.query(list(texts), soft_prompt) @ np.asarray(class_embeddings).T
