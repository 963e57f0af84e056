"""Prompt generators: what the clients learn, each a flat parameter vector for ZO optimisers (the
instruction generator turns its vector into an instruction's words)."""

from . import discrete
from .coordinator import Coordinator
from .instruction import InstructionGenerator
from .soft import SoftPrompt, nearest_words
from .visual import GridPrompt, PaddingPrompt

__all__ = [
    "Coordinator",
    "GridPrompt",
    "InstructionGenerator",
    "PaddingPrompt",
    "SoftPrompt",
    "discrete",
    "nearest_words",
]
