"""Prompt generators: what the clients learn, each a flat parameter vector for ZO optimisers."""

from .coordinator import Coordinator
from .visual import GridPrompt, PaddingPrompt

__all__ = ["Coordinator", "GridPrompt", "PaddingPrompt"]
