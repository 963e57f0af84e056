"""The server side: which clients train each round, and how their results are combined.

FedAvg (McMahan et al.) weights each client's parameters by its number of examples; with a
server learning rate eta it moves the global parameters eta of the way to that average.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..validation import check_count, check_real
from .client import NDArrays, Scalar


@dataclass(frozen=True)
class FitResult:
    """What one client sends back after fit: parameters, a count and scalar metrics only."""

    client_id: int
    parameters: NDArrays
    num_examples: int
    metrics: dict[str, Scalar]


class Strategy(ABC):
    """Decides the clients and config of each round, aggregates fits, evaluates centrally."""

    @abstractmethod
    def configure_fit(
        self, server_round: int, client_ids: list[int], rng: np.random.Generator
    ) -> list[tuple[int, dict]]:
        """(client id, fit config) for each client sampled this round."""

    @abstractmethod
    def aggregate_fit(
        self, server_round: int, parameters: NDArrays, results: list[FitResult]
    ) -> tuple[NDArrays, dict[str, Scalar]]:
        """New global parameters and aggregated metrics from this round's fit results."""

    def evaluate(self, server_round: int, parameters: NDArrays) -> dict[str, Scalar] | None:
        """Central evaluation of the global parameters (None when there is none)."""
        return None

    def reply_like(self, parameters: NDArrays) -> NDArrays:
        """Arrays shaped as a client's fit reply must be: the global parameters' shapes."""
        return parameters

    def state(self) -> dict[str, np.ndarray]:
        """What the server keeps between rounds beyond the parameters, for checkpoints."""
        return {}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Take back what state() returned (from a checkpoint)."""
        if state:
            raise ValueError(f"{type(self).__name__} keeps no state, got {sorted(state)}")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def weighted_average(values: list[float], weights: list[int]) -> float:
    """Average of values weighted by example counts."""
    return float(np.average(np.asarray(values, dtype=np.float64), weights=weights))


def aggregate_metrics(results: list[FitResult]) -> dict[str, float]:
    """Each numeric metric averaged over the clients that sent it, weighted by examples."""
    keys = sorted({k for r in results for k in r.metrics})
    numeric = [k for k in keys if all(_is_number(r.metrics[k]) for r in results if k in r.metrics)]
    return {
        key: weighted_average(
            [r.metrics[key] for r in results if key in r.metrics],
            [r.num_examples for r in results if key in r.metrics],
        )
        for key in numeric
    }


class FedAvg(Strategy):
    """Federated averaging with Flower's sampling rule (min_fit_clients=1 and a tiny
    fraction_fit give one client per round) and an optional server learning rate."""

    def __init__(
        self,
        *,
        fraction_fit: float = 1.0,
        min_fit_clients: int = 1,
        min_available_clients: int = 1,
        server_learning_rate: float = 1.0,
        evaluate_fn: Callable[[int, NDArrays], dict] | None = None,
        on_fit_config_fn: Callable[[int], dict] | None = None,
    ):
        self.fraction_fit = check_real("fraction_fit", fraction_fit, positive=True)
        if self.fraction_fit > 1:
            raise ValueError(f"fraction_fit must be in (0, 1], got {fraction_fit}")
        self.min_fit_clients = check_count("min_fit_clients", min_fit_clients)
        self.min_available_clients = check_count("min_available_clients", min_available_clients)
        self.server_learning_rate = check_real(
            "server_learning_rate", server_learning_rate, positive=True
        )
        for name, fn in (("evaluate_fn", evaluate_fn), ("on_fit_config_fn", on_fit_config_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable or None")
        self.evaluate_fn = evaluate_fn
        self.on_fit_config_fn = on_fit_config_fn

    def num_fit_clients(self, num_available: int) -> int:
        """How many clients train in a round when num_available are connected."""
        if num_available < self.min_available_clients:
            raise ValueError(
                f"{num_available} clients available, fewer than min_available_clients="
                f"{self.min_available_clients}"
            )
        wanted = max(int(num_available * self.fraction_fit), self.min_fit_clients)
        if wanted > num_available:
            raise ValueError(
                f"min_fit_clients={self.min_fit_clients} exceeds the {num_available} clients"
            )
        return wanted

    def configure_fit(self, server_round, client_ids, rng):
        chosen = rng.choice(client_ids, size=self.num_fit_clients(len(client_ids)), replace=False)
        config = self.on_fit_config_fn(server_round) if self.on_fit_config_fn else {}
        return [(int(cid), dict(config)) for cid in sorted(chosen)]

    def aggregate_fit(self, server_round, parameters, results):
        if not results:
            return parameters, {}
        weights = [r.num_examples for r in results]
        averaged = [
            np.average(np.stack([r.parameters[i] for r in results]), axis=0, weights=weights)
            for i in range(len(parameters))
        ]
        eta = self.server_learning_rate
        new = [
            (g + eta * (a - g)).astype(g.dtype) for g, a in zip(parameters, averaged, strict=True)
        ]
        return new, aggregate_metrics(results)

    def evaluate(self, server_round, parameters):
        return self.evaluate_fn(server_round, parameters) if self.evaluate_fn else None
