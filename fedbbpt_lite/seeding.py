"""One call that makes a lesson or experiment repeatable."""

from __future__ import annotations

import random

import numpy as np
import torch

from .validation import check_count


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch; return a fresh NumPy Generator to pass around explicitly."""
    seed = check_count("seed", seed, minimum=0)
    if seed >= 2**32:
        raise ValueError(f"seed must be below 2**32, got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
