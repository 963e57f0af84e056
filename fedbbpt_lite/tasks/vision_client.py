"""The Fed-BBPT vision client: tunes a prompt generator on private images through the API.

Every local SPSA-GC step is one batched black-box call. The SPSA-GC state (step counter and
correction vector) lives in the ClientContext, so it persists across rounds as BlackVIP's would.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import zo
from ..blackbox.base import BlackBox
from ..federated.client import Client, ClientContext
from ..validation import check_count
from .vision import prompt_loss_fn


class PromptClient(Client):
    """One data holder: private (images, labels), a prompt generator, and the shared API."""

    def __init__(
        self,
        context: ClientContext,
        blackbox: BlackBox,
        generator,
        images: torch.Tensor,
        labels,
        class_prompts: list[str],
        optimiser: zo.SPSAGCConfig,
        local_steps: int = 5,
        batch_size: int = 32,
    ):
        if len(images) == 0:
            raise ValueError(f"client {context.client_id} holds no images")
        self.context, self.blackbox, self.generator = context, blackbox, generator
        self.images, self.labels = images, np.asarray(labels)
        self.class_prompts, self.optimiser = class_prompts, optimiser
        self.local_steps = check_count("local_steps", local_steps)
        self.batch_size = check_count("batch_size", batch_size)

    def get_parameters(self, config: dict) -> list[np.ndarray]:
        return [self.generator.init_params()]

    def fit(self, parameters, config):
        rng = np.random.default_rng(config["seed"])
        w = np.asarray(parameters[0], dtype=np.float64)
        state = self.context.state.get("spsa_gc", zo.SPSAGCState())
        calls, examples = self.blackbox.meter.calls, self.blackbox.meter.examples
        losses = []
        for _ in range(self.local_steps):
            size = min(self.batch_size, len(self.labels))
            batch = np.sort(rng.choice(len(self.labels), size=size, replace=False))
            loss_batch = prompt_loss_fn(
                self.blackbox,
                self.generator,
                self.images[torch.from_numpy(batch)],
                self.labels[batch],
                self.class_prompts,
            )
            w, state, info = zo.spsa_gc_step(loss_batch, w, state, self.optimiser, rng)
            losses.append((info["loss_plus_mean"] + info["loss_minus_mean"]) / 2)
        self.context.state["spsa_gc"] = state
        metrics = {
            "train_loss": float(np.mean(losses)),
            "api_calls": self.blackbox.meter.calls - calls,
            "examples_sent": self.blackbox.meter.examples - examples,
        }
        return [w], len(self.labels), metrics
