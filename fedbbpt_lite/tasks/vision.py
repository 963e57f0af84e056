"""Wire a visual prompt to the MiniCLIP API: batched losses for ZO estimators, and accuracy.

The only thing that crosses the boundary is prompted images going in and scores coming out;
the loss is computed on the client from whatever the API reveals.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..blackbox.base import BlackBox


def loss_from_outputs(outputs: np.ndarray, labels: np.ndarray, output: str) -> np.ndarray:
    """Mean loss over the last-but-one axis: cross-entropy from logits or probabilities,
    or the 0-1 error when the API reveals only the top label."""
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
    labels = np.broadcast_to(np.asarray(labels), (len(images),))

    def loss_batch(W: np.ndarray) -> np.ndarray:
        prompted = prompt.apply(W, images)
        outputs = blackbox.query(prompted, class_prompts)
        return loss_from_outputs(outputs, labels, blackbox.output).astype(np.float64)

    return loss_batch


def accuracy(
    blackbox: BlackBox, images: torch.Tensor, labels, class_prompts: list[str], prompt=None, w=None
) -> float:
    """Top-1 accuracy through the API, with a prompt applied when one is given."""
    if prompt is not None:
        images = prompt.apply(prompt.init_params() if w is None else w, images)[0]
    outputs = blackbox.query(images, class_prompts)
    predicted = outputs if blackbox.output == "label" else outputs.argmax(-1)
    return float((predicted == np.asarray(labels)).mean())
