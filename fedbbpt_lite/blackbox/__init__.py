"""The API boundary: black boxes that reveal outputs only, with a meter, budget and faults."""

from .base import BlackBox, TransientAPIError
from .clip import CLIPBlackBox
from .embedding import EmbeddingBlackBox
from .meter import Budget, BudgetExceededError, Meter
from .miniclip import MiniCLIPBlackBox
from .toy import TOY_FUNCTIONS, ToyBlackBox, ToyFunction

__all__ = [
    "BlackBox",
    "Budget",
    "BudgetExceededError",
    "CLIPBlackBox",
    "EmbeddingBlackBox",
    "Meter",
    "MiniCLIPBlackBox",
    "TOY_FUNCTIONS",
    "ToyBlackBox",
    "ToyFunction",
    "TransientAPIError",
]
