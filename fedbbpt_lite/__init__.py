"""fedbbpt-lite: a teaching kit for Federated Black-Box Prompt Tuning (Fed-BBPT)."""

from . import (
    blackbox,
    checks,
    datasets,
    environment,
    evolution,
    federated,
    paths,
    plots,
    policy_gradient,
    prompts,
    results_store,
    sweep,
    tasks,
    widgets,
    zo,
    zo_diagnostics,
)
from .seeding import set_seed

__version__ = "0.1.0"


def __getattr__(name: str):
    """fbl.flower, imported on first use: it needs the optional Flower extra."""
    if name == "flower":
        import importlib

        return importlib.import_module(".flower", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "blackbox",
    "checks",
    "datasets",
    "environment",
    "evolution",
    "federated",
    "paths",
    "plots",
    "policy_gradient",
    "prompts",
    "results_store",
    "set_seed",
    "sweep",
    "tasks",
    "widgets",
    "zo",
    "zo_diagnostics",
]
