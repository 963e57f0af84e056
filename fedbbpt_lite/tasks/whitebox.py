"""White-box prompt tuning: backpropagation through MiniCLIP's weights, the upper bound.

This is what a client could do if the model owner handed over the weights: the same prompt
generator and loss, but exact gradients and Adam instead of SPSA-GC through the API. It does
not use the BlackBox interface on purpose; the lessons compare black-box tuning against it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..blackbox.miniclip import load_image_tower
from ..blackbox.text_encoder import shared_text_encoder
from ..validation import check_count, check_real, check_rng


def tune_whitebox(
    generator,
    images: torch.Tensor,
    labels,
    class_prompts: list[str],
    rng: np.random.Generator,
    *,
    steps: int = 200,
    batch_size: int = 32,
    lr: float = 0.05,
) -> np.ndarray:
    """Adam on the generator's flat parameters for `steps` mini-batches; returns them."""
    steps, batch_size = check_count("steps", steps), check_count("batch_size", batch_size)
    lr = check_real("lr", lr, positive=True)
    check_rng(rng)
    loss = _prompt_loss(generator, class_prompts)
    labels = torch.as_tensor(np.asarray(labels))
    w = torch.tensor(generator.init_params(), dtype=torch.float32, requires_grad=True)
    optimiser = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        batch = torch.from_numpy(
            rng.choice(len(labels), min(batch_size, len(labels)), replace=False)
        )
        optimiser.zero_grad()
        loss(w, images[batch], labels[batch]).backward()
        optimiser.step()
    return w.detach().double().numpy()


def true_gradient(generator, w, images: torch.Tensor, labels, class_prompts: list[str]):
    """The exact gradient of the prompt's mean cross-entropy that the API hides: the yardstick
    for a zeroth-order estimate of the same loss (float64 NumPy, the shape of w)."""
    w = torch.tensor(np.asarray(w), dtype=torch.float32, requires_grad=True)
    labels = torch.as_tensor(np.asarray(labels))
    _prompt_loss(generator, class_prompts)(w, images, labels).backward()
    return w.grad.double().numpy()


def _prompt_loss(generator, class_prompts: list[str]):
    """loss(w, images, labels): MiniCLIP's cross-entropy on prompted images, frozen weights."""
    tower = load_image_tower()
    for parameter in tower.parameters():
        parameter.requires_grad_(False)
    text = shared_text_encoder().encode(list(class_prompts))

    def loss(w: torch.Tensor, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        prompted = generator.apply(w, images)[0].expand(-1, 3, -1, -1)
        return F.cross_entropy(tower.logits(prompted, text), labels)

    return loss
