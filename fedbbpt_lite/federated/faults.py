"""Injected client faults, for lessons and tests: clients that drop out of a round.

A dropout is decided by the fit's own seed, so the same run drops the same clients in the same
rounds; run_simulation records it in History.failures and completes the round without them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..validation import check_count, check_real
from .client import Client, ClientContext


class ClientDropout(RuntimeError):
    """A client that left the round without answering (a phone switched off, a lost link)."""


class _DroppingClient(Client):
    def __init__(self, client: Client, rate: float, seed: int, client_id: int):
        self.client, self.rate, self.seed, self.client_id = client, rate, seed, client_id

    def get_parameters(self, config):
        return self.client.get_parameters(config)

    def fit(self, parameters, config):
        if np.random.default_rng([self.seed, config["seed"]]).random() < self.rate:
            raise ClientDropout(f"client {self.client_id} dropped out of the round")
        return self.client.fit(parameters, config)

    def evaluate(self, parameters, config):
        return self.client.evaluate(parameters, config)


def with_dropouts(
    client_fn: Callable[[ClientContext], Client], rate: float, seed: int = 0
) -> Callable[[ClientContext], Client]:
    """client_fn whose clients drop out of each fit with probability `rate`."""
    rate = check_real("rate", rate, below=1.0)
    seed = check_count("seed", seed, minimum=0)
    return lambda context: _DroppingClient(client_fn(context), rate, seed, context.client_id)
