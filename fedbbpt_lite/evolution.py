"""CMA-ES, the derivative-free optimiser of BBT and FedBPT, through the reference library `cma`.

A strategy only adapts if it lives across generations: BBT keeps one for its whole budget, a
FedBPT client one across its local generations from the server's mean, sigma and C. The server's
global CMA-ES takes their final means, as NVIDIA/NVFlare research/fed-bpt/src/global_es.py does.
"""

from __future__ import annotations

import warnings
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


def initial_covariance(dimension: int) -> np.ndarray:
    """The covariance a new cma strategy starts from: the identity, its diagonal stretched by
    up to 1e-5 relative (cma's tie-break for the eigendecomposition)."""
    import cma

    return np.array(cma.sampler.GaussFullSampler(check_count("dimension", dimension)).C)


def start_strategy(mean, sigma: float, popsize: int, seed: int, covariance=None, mu=None):
    """A cma.CMAEvolutionStrategy at (mean, sigma, covariance; initial_covariance when None)
    with fresh evolution paths: what FedBPT's clients get from the server's `_copy_light`.
    `mu` is the number of parents (cma's default, popsize // 2, when None)."""
    import cma

    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 1 or len(mean) < 2 or not np.isfinite(mean).all():
        raise ValueError(f"mean must be a finite vector of length >= 2, got shape {mean.shape}")
    sigma = check_real("sigma", sigma, positive=True)
    options = {
        "popsize": check_count("popsize", popsize, minimum=2),
        "seed": check_count("seed", seed),  # cma reads seed 0 as "seed from the clock"
        "verbose": -9,
    }
    if mu is not None:
        options["CMA_mu"] = check_count("mu", mu)
    strategy = cma.CMAEvolutionStrategy(mean, sigma, options)
    if covariance is not None:
        covariance = np.asarray(covariance, dtype=np.float64)
        if covariance.shape != (len(mean), len(mean)) or not np.isfinite(covariance).all():
            raise ValueError(
                f"covariance must be a finite {len(mean)} x {len(mean)} matrix, "
                f"got shape {covariance.shape}"
            )
        # What cma's _set_C_from does: set C, then refresh its eigendecomposition.
        strategy.sm.C = covariance.copy()
        strategy.sm.update_now(-1)
        strategy._updateBDfromSM()
    return strategy


def run_generations(
    strategy, loss_of_candidates: Callable[[np.ndarray], np.ndarray], generations: int
) -> dict:
    """Run `generations` generations of one strategy; returns each one's mean loss and the sigma
    it started from (FedBPT's clients report the latter to the server)."""
    losses, sigmas = [], []
    for _ in range(check_count("generations", generations)):
        sigmas.append(float(strategy.sigma))
        candidates = np.asarray(strategy.ask())
        scores = np.asarray(loss_of_candidates(candidates), dtype=np.float64)
        if scores.shape != (len(candidates),):
            raise ValueError(f"loss_of_candidates must return {len(candidates)} losses")
        strategy.tell(list(candidates), scores.tolist())
        losses.append(float(scores.mean()))
    return {"losses": losses, "sigmas": sigmas}


def cma_search(
    loss_of_candidates: Callable[[np.ndarray], np.ndarray],
    mean,
    sigma: float,
    generations: int,
    config: CMAESConfig,
    seed: int,
) -> tuple[np.ndarray, float, dict]:
    """One CMA-ES for `generations` generations from (mean, sigma), as BBT runs it. Returns
    the final mean, sigma and the losses and sigmas of each generation."""
    strategy = start_strategy(mean, sigma, config.popsize, seed)
    info = run_generations(strategy, loss_of_candidates, generations)
    return np.asarray(strategy.mean, dtype=np.float64), float(strategy.sigma), info


def fedbpt_server_step(
    global_strategy, means, losses, sigma_square_sums, local_mu: int, local_sigma: float
) -> float:
    """FedBPT's server update; returns the sigma the clients start their next round from, the
    previous one rescaled by the global sigma's change as the global ES tells the clients' means.
    (global_es.py then floors it at 0.5 and caps it at this same value: the two cancel.)"""
    import cma

    means = np.asarray(means, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    m = global_strategy.popsize
    if means.shape != (m, global_strategy.N) or losses.shape != (m,):
        raise ValueError(
            f"the global ES takes one mean and loss per client ({m}), got {means.shape[0]} "
            f"means and {losses.size} losses"
        )
    # sigma_square_sums: per client, the sum of its sigma^2 at the start of each local generation
    sigma_before = float(np.sqrt(np.sum(sigma_square_sums) / m / local_mu))
    global_strategy.sigma = sigma_before
    with warnings.catch_warnings():
        # cma tells only after an ask, whose draws are discarded; below 6 clients they include
        # mirrored samples that cma then warns were never told (global_es.py does the same)
        warnings.simplefilter("ignore", cma.evolution_strategy.InjectionWarning)
        global_strategy.ask()
        global_strategy.tell(list(means), losses.tolist())
    return float(global_strategy.sigma) / sigma_before * local_sigma
