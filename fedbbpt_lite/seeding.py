"""One call that makes a lesson or experiment repeatable."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch; return a fresh NumPy Generator to pass around explicitly."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
