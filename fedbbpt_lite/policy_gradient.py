"""BDPL's optimiser for discrete prompts: a categorical distribution per prompt position, tuned by
a variance-reduced policy gradient from black-box losses of sampled prompts.

theta (n, N) gives each of n positions a distribution over N candidate tokens, each row on the
probability simplex; an average of simplex rows stays on it, so FedAvg needs nothing special.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .validation import check_count, check_real, check_rng


def _check_theta(theta) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 2 or theta.shape[1] < 2:
        raise ValueError(f"theta must have shape (positions, candidates >= 2), got {theta.shape}")
    if not np.isfinite(theta).all():
        raise ValueError("theta must be finite")
    return theta


def uniform_theta(positions: int, candidates: int) -> np.ndarray:
    """The starting distribution: every candidate equally likely at every position."""
    positions = check_count("positions", positions)
    candidates = check_count("candidates", candidates, minimum=2)
    return np.full((positions, candidates), 1.0 / candidates)


def project_simplex(theta, tol: float = 1e-10) -> np.ndarray:
    """Each row onto the probability simplex, as BDPL does it: bisection on a shift v such that
    sum_k clip(theta_ik - v, 0, 1) = 1."""
    theta = _check_theta(theta)
    low = (theta - 1.0).min(axis=1, keepdims=True)  # the clipped sum is >= 1 at this shift...
    high = theta.max(axis=1, keepdims=True)  # ...and 0 at this one
    for _ in range(200):
        middle = (low + high) / 2
        over = np.clip(theta - middle, 0.0, 1.0).sum(axis=1, keepdims=True) > 1.0
        low, high = np.where(over, middle, low), np.where(over, high, middle)
        if (high - low).max() < tol:
            break
    projected = np.clip(theta - (low + high) / 2, 0.0, 1.0)
    return projected / projected.sum(axis=1, keepdims=True)  # remove the last rounding error


def sample_prompts(theta, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` prompts as candidate indices, shape (count, n): position i drawn from row i."""
    theta, count = _check_theta(theta), check_count("count", count)
    check_rng(rng)
    cumulative = np.cumsum(theta, axis=1)
    draws = rng.random((count, theta.shape[0], 1))
    picks = (draws > cumulative[None]).sum(axis=2)
    return np.minimum(picks, theta.shape[1] - 1)


def policy_gradient(theta, prompts: np.ndarray, losses) -> np.ndarray:
    """Variance-reduced estimate of d E[loss] / d theta in FedOne-BDPL's "zero" form: grad log p
    is 0 off the chosen candidates. BDPL's own -1/theta there doubles the estimate; AdamW cancels
    that, so the two steps differ only when the norm clip fires for one and not the other."""
    theta = _check_theta(theta)
    prompts = np.asarray(prompts)
    losses = np.asarray(losses, dtype=np.float64)
    if prompts.ndim != 2 or prompts.shape[1] != theta.shape[0] or len(prompts) < 2:
        raise ValueError(f"prompts must have shape (I >= 2, {theta.shape[0]}), got {prompts.shape}")
    if losses.shape != (len(prompts),):
        raise ValueError(
            f"losses must hold one loss per prompt ({len(prompts)}), got {losses.shape}"
        )
    advantages = losses - losses.mean()
    gradient = np.zeros_like(theta)
    rows = np.arange(theta.shape[0])
    for advantage, prompt in zip(advantages, prompts, strict=True):
        gradient[rows, prompt] += advantage / np.maximum(theta[rows, prompt], 1e-12)
    return gradient / (len(prompts) - 1)


@dataclass(frozen=True)
class BDPLConfig:
    """BDPL's defaults: lr 1e-4 (RoBERTa-large scale), I = 20 samples per step, clip at norm 3,
    AdamW with PyTorch's default betas and eps. The weight decay, 0.01, is FedOne-BDPL's
    (and PyTorch's default); BDPL's own is 0.1."""

    lr: float = 1e-4
    samples: int = 20
    clip_norm: float = 3.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.01

    def __post_init__(self):
        check_real("lr", self.lr, positive=True)
        check_count("samples", self.samples, minimum=2)
        check_real("clip_norm", self.clip_norm, positive=True)
        for beta in self.betas:
            check_real("betas", beta, below=1.0)
        check_real("eps", self.eps, positive=True)
        check_real("weight_decay", self.weight_decay)


@dataclass
class BDPLState:
    """Per-client AdamW moments and step count (persist across rounds in the client's context)."""

    step: int = 0
    m: np.ndarray | None = None
    v: np.ndarray | None = None


def bdpl_step(
    theta,
    loss_of_prompts: Callable[[np.ndarray], np.ndarray],
    state: BDPLState,
    config: BDPLConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, BDPLState, dict]:
    """One BDPL step: sample config.samples prompts, get their losses (one black-box call each,
    made by loss_of_prompts), clipped policy gradient, AdamW, projection onto the simplex."""
    theta = _check_theta(theta)
    prompts = sample_prompts(theta, config.samples, rng)
    losses = np.asarray(loss_of_prompts(prompts), dtype=np.float64)
    gradient = policy_gradient(theta, prompts, losses)
    norm = float(np.linalg.norm(gradient))
    if norm > config.clip_norm:
        gradient *= config.clip_norm / norm
    beta1, beta2 = config.betas
    step = state.step + 1
    m = beta1 * (state.m if state.m is not None else 0.0) + (1 - beta1) * gradient
    v = beta2 * (state.v if state.v is not None else 0.0) + (1 - beta2) * gradient**2
    m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
    decayed = theta * (1 - config.lr * config.weight_decay)
    theta = project_simplex(decayed - config.lr * m_hat / (np.sqrt(v_hat) + config.eps))
    info = {"loss_mean": float(losses.mean()), "gradient_norm": norm}
    return theta, BDPLState(step, m, v), info


def best_prompt(theta) -> np.ndarray:
    """The prompt BDPL evaluates: the most likely candidate at every position."""
    return _check_theta(theta).argmax(axis=1)
