"""Prompt generators: what the clients learn."""

from .visual import GridPrompt

__all__ = ["GridPrompt"]
