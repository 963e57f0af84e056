"""Tasks wire a prompt generator, a black box and a loss together, and run experiments."""

from . import (
    selection,
    step_size,
    text,
    text_clients,
    text_experiment,
    toy_federation,
    vision,
    vision_client,
    vision_experiment,
    whitebox,
)

__all__ = [
    "selection",
    "step_size",
    "text",
    "text_clients",
    "text_experiment",
    "toy_federation",
    "vision",
    "vision_client",
    "vision_experiment",
    "whitebox",
]
