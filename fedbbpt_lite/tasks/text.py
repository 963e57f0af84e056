"""Wire a text prompt to a language-model API: a prompt is words prepended to every input.

With the embedding API a class is the label description closest (cosine) to the prompted text,
the descriptions sent in the same call as the texts (one call a classification); a verbaliser
API returns class scores itself. Everything after the API call runs on the client.
"""

from __future__ import annotations

import numpy as np

from ..blackbox.embedding import EmbeddingBlackBox
from ..blackbox.language_model import LanguageModelBlackBox

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


def prompted_logits(api, texts, class_prompts: list[str], prompt: str = "") -> np.ndarray:
    """Class scores (N, K) of texts with a word prompt, from either kind of text API: the
    embedding API via class descriptions, a verbaliser API directly (one call either way)."""
    if isinstance(api, LanguageModelBlackBox):
        if len(class_prompts) != len(api.label_words):
            raise ValueError(
                f"class_prompts name {len(class_prompts)} classes, the API's label words "
                f"{len(api.label_words)}"
            )
        return api.query(list(texts), prompt)
    if not isinstance(api, EmbeddingBlackBox):
        raise TypeError(f"api must be a text black box, got {type(api).__name__}")
    return class_logits(api, texts, class_prompts, prompt)


def text_accuracy(api, texts, labels, class_prompts: list[str], prompt: str = "") -> float:
    """Top-1 accuracy through either kind of text API, with the prompt prepended."""
    labels = np.asarray(labels)
    if labels.shape != (len(texts),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(texts)} integers, got shape {labels.shape}")
    predicted = prompted_logits(api, texts, class_prompts, prompt).argmax(-1)
    return float((predicted == labels).mean())


def label_embeddings(api: EmbeddingBlackBox, class_prompts: list[str]) -> np.ndarray:
    """The class descriptions' embeddings, (K, 384): one call, made once and kept by a client
    that tunes a soft prompt (the soft prompt goes in front of inputs only)."""
    if isinstance(class_prompts, str) or len(class_prompts) < 2:
        raise ValueError("class_prompts must list at least two class descriptions")
    return api.query(list(class_prompts))


def soft_class_logits(api, texts, class_embeddings: np.ndarray | None, soft_prompt) -> np.ndarray:
    """Class scores (N, K) of soft-prompted texts: SCALE x cosine similarity to each class
    embedding, or a verbaliser API's own scores of its label words (class_embeddings None)."""
    if isinstance(api, LanguageModelBlackBox):
        return api.query(list(texts), soft_prompt)
    return SCALE * api.query(list(texts), soft_prompt) @ np.asarray(class_embeddings).T
