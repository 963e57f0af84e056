"""The client side, shaped like Flower's NumPyClient so lessons carry over to real federations.

Parameters travel as a list of NumPy arrays. A client is rebuilt by client_fn each round from
its ClientContext, whose `state` dict persists across rounds (e.g. SPSA-GC momentum), as in Flower.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

NDArrays = list[np.ndarray]
Scalar = bool | int | float | str


@dataclass
class ClientContext:
    """What the simulation keeps for one client between rounds."""

    client_id: int
    state: dict = field(default_factory=dict)


class Client(ABC):
    """fit trains locally from the server's parameters; evaluate scores them on local data."""

    @abstractmethod
    def get_parameters(self, config: dict) -> NDArrays:
        """The client's current (initial) parameters."""

    @abstractmethod
    def fit(self, parameters: NDArrays, config: dict) -> tuple[NDArrays, int, dict[str, Scalar]]:
        """Train from `parameters`; return (new parameters, number of examples, metrics)."""

    def evaluate(self, parameters: NDArrays, config: dict) -> tuple[float, int, dict[str, Scalar]]:
        """Score `parameters` locally; return (loss, number of examples, metrics)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement evaluate")
