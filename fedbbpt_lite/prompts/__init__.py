"""Prompt generators: what the clients learn, each a flat parameter vector for ZO optimisers."""

from . import discrete
from .coordinator import Coordinator
from .soft import SoftPrompt, nearest_words
from .visual import GridPrompt, PaddingPrompt

__all__ = ["Coordinator", "GridPrompt", "PaddingPrompt", "SoftPrompt", "discrete", "nearest_words"]
