"""fedbbpt-lite: a teaching kit for Federated Black-Box Prompt Tuning (Fed-BBPT).

The names lessons use most live here: fbl.run_experiment(fbl.VisionExperiment(...)). The
modules that load Jupyter, plotting or Flower code (widgets, plots, sweep, checks, flower) are
imported on first use, so the command line and the Flower apps never load them.
"""

import importlib

from . import (
    bayesian,
    blackbox,
    datasets,
    evolution,
    federated,
    paths,
    policy_gradient,
    prompts,
    results_store,
    tasks,
    zo,
)
from .blackbox import Budget, EmbeddingBlackBox, MiniCLIPBlackBox, ToyBlackBox, ToyFunction
from .datasets import dataset_names, load_text, load_vision, text_dataset_names
from .federated import ClientContext, FedAvg, run_simulation
from .seeding import set_seed
from .tasks import TextExperiment, VisionExperiment, run_experiment

__version__ = "0.1.0"

LAZY = ("checks", "environment", "flower", "plots", "sweep", "widgets", "zo_diagnostics")


def __getattr__(name: str):
    """The modules of LAZY, imported on first use (fbl.flower needs the optional extra)."""
    if name in LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    *LAZY,
    "Budget",
    "ClientContext",
    "EmbeddingBlackBox",
    "FedAvg",
    "MiniCLIPBlackBox",
    "TextExperiment",
    "ToyBlackBox",
    "ToyFunction",
    "VisionExperiment",
    "bayesian",
    "blackbox",
    "dataset_names",
    "datasets",
    "evolution",
    "federated",
    "load_text",
    "load_vision",
    "paths",
    "policy_gradient",
    "prompts",
    "results_store",
    "run_experiment",
    "run_simulation",
    "set_seed",
    "tasks",
    "text_dataset_names",
    "zo",
]
