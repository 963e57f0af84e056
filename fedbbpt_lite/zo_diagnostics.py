"""Measure a ZO estimator against the true gradient: bias, variance and query cost.

Used by lesson 02 to plot bias against the smoothing radius and variance against the number
of directions and the dimension, on toy black boxes whose true gradient is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import zo
from .validation import check_choice, check_count

VARIABLES = ("mu", "q", "d")


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
    """Repeat an estimate `trials` times; report bias, variance and relative MSE. bias has the
    mean's sampling noise removed; bias_noise is the size of that noise, below which a bias
    cannot be seen."""
    trials = check_count("trials", trials, minimum=2)
    true_gradient = np.asarray(true_gradient, dtype=np.float64)
    if true_gradient.shape != np.shape(w):
        raise ValueError(
            f"true_gradient must have the shape of w {np.shape(w)}, got {true_gradient.shape}"
        )
    estimates = np.stack([zo.estimate(method, loss_batch, w, rng, **kwargs) for _ in range(trials)])
    mean = estimates.mean(0)
    mse = float(((estimates - true_gradient) ** 2).sum(1).mean())
    variance = float(((estimates - mean) ** 2).sum(1).mean())
    noise = variance / (trials - 1)
    return {
        "method": method,
        **kwargs,
        "bias": float(
            np.sqrt(max(float((mean - true_gradient) @ (mean - true_gradient)) - noise, 0))
        ),
        "bias_noise": float(np.sqrt(noise)),
        "variance": variance,
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
    """One estimator_error row per (method, value of `vary`); make_problem(value) builds each
    problem, so `vary` may also be the dimension d (then it is not passed to the estimator)."""
    check_choice("vary", vary, VARIABLES)
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
