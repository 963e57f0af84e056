"""fedbbpt-lite: a teaching kit for Federated Black-Box Prompt Tuning (Fed-BBPT)."""

from . import blackbox, datasets, prompts, zo
from .seeding import set_seed

__version__ = "0.1.0"
__all__ = ["blackbox", "datasets", "prompts", "set_seed", "zo"]
