"""Federated learning with Flower's vocabulary: clients, strategies, simulation, History; and
what real federations need: checkpoints, injected faults, client-level differential privacy;
and FedBPT's server, a global CMA-ES."""

from . import partition
from .client import Client, Context, NDArrays
from .faults import ClientDropout, with_dropouts
from .fedbpt import FedBPT
from .history import History
from .privacy import DPFedAvg, epsilon
from .simulation import run_simulation
from .strategy import FedAvg, FitResult, Strategy

__all__ = [
    "Client",
    "ClientDropout",
    "Context",
    "DPFedAvg",
    "FedAvg",
    "FedBPT",
    "FitResult",
    "History",
    "NDArrays",
    "Strategy",
    "epsilon",
    "partition",
    "run_simulation",
    "with_dropouts",
]
