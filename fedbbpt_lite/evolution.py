"""CMA-ES, the derivative-free optimiser of BBT and FedBPT, through the reference library `cma`.

A generation asks for `popsize` candidates around the current mean, scores each with one
black-box loss, and moves the mean, step size sigma and covariance towards the better ones.
FedBPT federates it by averaging the clients' means and step sizes after local generations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .validation import check_count, check_real


@dataclass(frozen=True)
class CMAESConfig:
    """Population size per generation (one API call per candidate) and the initial sigma."""

    popsize: int = 20
    sigma: float = 1.0

    def __post_init__(self):
        check_count("popsize", self.popsize, minimum=2)
        check_real("sigma", self.sigma, positive=True)


def cma_search(
    loss_of_candidates: Callable[[np.ndarray], np.ndarray],
    mean,
    sigma: float,
    generations: int,
    config: CMAESConfig,
    seed: int,
) -> tuple[np.ndarray, float, dict]:
    """Run `generations` CMA-ES generations from (mean, sigma); loss_of_candidates maps a
    (popsize, d) array to popsize losses. Returns the new mean, sigma and diagnostics."""
    import cma

    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 1 or len(mean) < 2 or not np.isfinite(mean).all():
        raise ValueError(f"mean must be a finite vector of length >= 2, got shape {mean.shape}")
    sigma = check_real("sigma", sigma, positive=True)
    generations = check_count("generations", generations)
    seed = check_count("seed", seed)  # cma reads seed 0 as "seed from the clock"
    options = {"popsize": config.popsize, "seed": seed, "verbose": -9}
    strategy = cma.CMAEvolutionStrategy(mean, sigma, options)
    losses = []
    for _ in range(generations):
        candidates = np.asarray(strategy.ask())
        scores = np.asarray(loss_of_candidates(candidates), dtype=np.float64)
        if scores.shape != (len(candidates),):
            raise ValueError(f"loss_of_candidates must return {len(candidates)} losses")
        strategy.tell(list(candidates), scores.tolist())
        losses.append(float(scores.mean()))
    info = {"loss_mean": float(np.mean(losses)), "best_loss": float(strategy.result.fbest)}
    return np.asarray(strategy.mean, dtype=np.float64), float(strategy.sigma), info
