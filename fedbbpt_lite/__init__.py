"""fedbbpt-lite: a teaching kit for Federated Black-Box Prompt Tuning (Fed-BBPT)."""

from . import (
    blackbox,
    checks,
    datasets,
    environment,
    evolution,
    federated,
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
__all__ = [
    "blackbox",
    "checks",
    "datasets",
    "environment",
    "evolution",
    "federated",
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
