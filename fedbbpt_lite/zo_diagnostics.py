"""Measure a ZO estimator against the true gradient: bias, variance and query cost.

Used by lesson 02 to plot bias against the smoothing radius and variance against the number
of directions and the dimension, on toy black boxes whose true gradient is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import zo


def estimator_error(
    method: str,
    loss_batch: zo.LossBatch,
    w: np.ndarray,
    true_gradient: np.ndarray,
    rng: np.random.Generator,
    *,
    trials: int = 200,
    **kwargs,
) -> dict:
    """Repeat an estimate `trials` times; report bias, variance and mean squared error.

    bias = |mean estimate - true|; variance = mean |estimate - mean estimate|^2;
    relative_mse = mean |estimate - true|^2 / |true|^2 (scale-free, for comparing methods).
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 2:
        raise ValueError(f"trials must be an integer >= 2, got {trials!r}")
    true_gradient = np.asarray(true_gradient, dtype=np.float64)
    estimates = np.stack([zo.estimate(method, loss_batch, w, rng, **kwargs) for _ in range(trials)])
    mean = estimates.mean(0)
    mse = float(((estimates - true_gradient) ** 2).sum(1).mean())
    return {
        "method": method,
        **kwargs,
        "bias": float(np.linalg.norm(mean - true_gradient)),
        "variance": float(((estimates - mean) ** 2).sum(1).mean()),
        "relative_mse": mse / float(true_gradient @ true_gradient),
        "points_per_estimate": zo.num_points(
            method, len(w), kwargs.get("q", 1), kwargs.get("scheme", "central")
        ),
    }


def error_sweep(
    methods: list[str],
    make_problem,
    vary: str,
    values: list,
    rng: np.random.Generator,
    *,
    trials: int = 200,
    **fixed,
) -> pd.DataFrame:
    """One estimator_error row per (method, value of `vary`).

    make_problem(value) -> (loss_batch, w, true_gradient) builds the problem for each value,
    so `vary` may be an estimator argument (mu, q) or the dimension d (then make_problem
    uses it and it is not passed on).
    """
    rows = []
    for method in methods:
        for value in values:
            loss_batch, w, true_gradient = make_problem(value)
            kwargs = dict(fixed) if vary == "d" else {**fixed, vary: value}
            row = estimator_error(
                method, loss_batch, w, true_gradient, rng, trials=trials, **kwargs
            )
            rows.append({**row, vary: value})
    return pd.DataFrame(rows)
