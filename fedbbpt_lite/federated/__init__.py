"""Federated learning with Flower's vocabulary: clients, strategies, simulation, History."""

from . import partition
from .client import Client, Context, NDArrays
from .history import History
from .simulation import run_simulation
from .strategy import FedAvg, FitResult, Strategy

__all__ = [
    "Client",
    "Context",
    "FedAvg",
    "FitResult",
    "History",
    "NDArrays",
    "Strategy",
    "partition",
    "run_simulation",
]
