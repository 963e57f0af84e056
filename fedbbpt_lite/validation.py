"""Argument checks shared by every public function: clear errors that name the argument."""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_rng(rng: object) -> np.random.Generator:
    """The argument `rng` must be a NumPy Generator (the kit never uses global randomness)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """An integer (bools excluded) of at least `minimum`."""
    wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {wanted}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return int(value)


def check_real(name: str, value: object, *, positive: bool = False, below: float | None = None):
    """A finite real number, >= 0 (or > 0 when positive), and < below when given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    too_big = below is not None and value >= below
    if not math.isfinite(value) or value < 0 or (positive and value == 0) or too_big:
        kind = "positive" if positive else "non-negative"
        limit = f" below {below:g}" if below is not None else ""
        raise ValueError(f"{name} must be a finite {kind} number{limit}, got {value!r}")
    return float(value)


def check_choice(name: str, value: object, options: tuple[str, ...]) -> str:
    """One of a fixed set of names."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def check_template(template: object) -> str:
    """A class-description template such as 'a photo of a {}': one '{}' and no other fields."""
    if not isinstance(template, str):
        raise TypeError(f"template must be a string, got {type(template).__name__}")
    try:
        template.format("x")
    except (IndexError, KeyError, ValueError):
        template = ""
    if "{}" not in template:
        raise ValueError("template must contain '{}' for the class name (and no other fields)")
    return template
