"""Federated learning with Flower's vocabulary: clients, strategies, simulation, History; and
what real federations need: checkpoints, injected faults, client-level differential privacy;
and FedBPT's server, a global CMA-ES."""

from . import partition
from .client import Client, ClientContext, NDArrays
from .faults import ClientDropout, with_dropouts
from .fedbpt import FedBPT
from .history import History
from .partition import dirichlet, iid, label_skew, shards
from .privacy import DPFedAvg, epsilon
from .simulation import run_simulation
from .strategy import FedAvg, FitResult, Strategy

__all__ = [
    "Client",
    "ClientDropout",
    "ClientContext",
    "DPFedAvg",
    "FedAvg",
    "FedBPT",
    "FitResult",
    "History",
    "NDArrays",
    "Strategy",
    "dirichlet",
    "epsilon",
    "iid",
    "label_skew",
    "partition",
    "run_simulation",
    "shards",
    "with_dropouts",
]
