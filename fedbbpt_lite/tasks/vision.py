"""Wire a visual prompt to the MiniCLIP API: batched losses for ZO estimators, and accuracy.

The only thing that crosses the boundary is prompted images going in and scores coming out;
the loss is computed on the client from whatever the API reveals.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..blackbox.base import BlackBox
from ..validation import check_choice


def _check_labels(labels, num_images: int, num_classes: int) -> np.ndarray:
    """Integer labels, one per image, each naming one of the class prompts."""
    labels = np.asarray(labels)
    if labels.shape != (num_images,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {num_images} integers, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1} (one per class prompt)")
    return labels


def loss_from_outputs(outputs: np.ndarray, labels: np.ndarray, output: str) -> np.ndarray:
    """Mean loss over the last-but-one axis: cross-entropy from logits or probabilities,
    or the 0-1 error when the API reveals only the top label."""
    check_choice("output", output, BlackBox.outputs)
    labels = np.asarray(labels)
    if output == "label":
        return (outputs != labels).mean(-1)
    if output == "probs":
        log_p = np.log(np.clip(outputs, 1e-12, None))
    else:
        shifted = outputs - outputs.max(-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    index = np.broadcast_to(labels.astype(np.int64), log_p.shape[:-1])[..., None]
    picked = np.take_along_axis(log_p, index, axis=-1)[..., 0]
    return -picked.mean(-1)


def prompt_loss_fn(
    blackbox: BlackBox, prompt, images: torch.Tensor, labels, class_prompts: list[str]
) -> Callable[[np.ndarray], np.ndarray]:
    """loss_batch(W) for ZO estimators: all m prompts' images go to the API in ONE call."""
    labels = _check_labels(labels, len(images), len(class_prompts))

    def loss_batch(W: np.ndarray) -> np.ndarray:
        prompted = prompt.apply(W, images)
        outputs = blackbox.query(prompted, class_prompts)
        return loss_from_outputs(outputs, labels, blackbox.output).astype(np.float64)

    return loss_batch


def predict(
    blackbox: BlackBox, images: torch.Tensor, class_prompts: list[str], prompt=None, w=None
) -> np.ndarray:
    """Top-1 class of each image through the API, with a prompt (and its parameters w) if given."""
    if w is not None and prompt is None:
        raise ValueError("w was given without a prompt: pass prompt=... too")
    if prompt is not None:
        images = prompt.apply(prompt.init_params() if w is None else w, images)[0]
    outputs = blackbox.query(images, class_prompts)
    return outputs if blackbox.output == "label" else outputs.argmax(-1)


def accuracy(
    blackbox: BlackBox, images: torch.Tensor, labels, class_prompts: list[str], prompt=None, w=None
) -> float:
    """Top-1 accuracy through the API, with a prompt (and its parameters w) when given."""
    labels = _check_labels(labels, len(images), len(class_prompts))
    return float((predict(blackbox, images, class_prompts, prompt, w) == labels).mean())


def client_accuracy(predicted, labels, client_labels, num_classes: int) -> float:
    """Test accuracy re-weighted to one client's label mix: what that client would measure on
    test data drawn like its own. Classes the client holds but the test set lacks are skipped."""
    labels = _check_labels(labels, len(np.asarray(predicted)), num_classes)
    if len(client_labels) == 0:
        raise ValueError("client_labels is empty: a client with no data has no accuracy")
    client_labels = _check_labels(client_labels, len(client_labels), num_classes)
    correct = np.asarray(predicted) == labels
    weights = np.bincount(client_labels, minlength=num_classes).astype(float)
    tested = np.bincount(labels, minlength=num_classes) > 0
    if not (weights * tested).any():
        raise ValueError("none of the client's classes appear in labels")
    per_class = np.array(
        [correct[labels == c].mean() if tested[c] else 0.0 for c in range(num_classes)]
    )
    return float((weights * per_class).sum() / (weights * tested).sum())
