"""The API boundary: black boxes that reveal outputs only, with a meter, budget and faults."""

from .base import APITimeoutError, BlackBox, TransientAPIError
from .clip import CLIPBlackBox
from .embedding import EmbeddingBlackBox
from .executor import ExecutorBlackBox
from .meter import Budget, BudgetExceededError, Meter
from .miniclip import MiniCLIPBlackBox
from .retry import RetryPolicy
from .text_encoder import shared_text_encoder
from .toy import TOY_FUNCTIONS, ToyBlackBox, ToyFunction

__all__ = [
    "APITimeoutError",
    "BlackBox",
    "Budget",
    "BudgetExceededError",
    "CLIPBlackBox",
    "EmbeddingBlackBox",
    "ExecutorBlackBox",
    "Meter",
    "MiniCLIPBlackBox",
    "RetryPolicy",
    "TOY_FUNCTIONS",
    "ToyBlackBox",
    "ToyFunction",
    "shared_text_encoder",
    "TransientAPIError",
]
