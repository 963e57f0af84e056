"""Tasks wire a prompt generator, a black box and a loss together."""

from . import vision

__all__ = ["vision"]
