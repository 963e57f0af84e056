"""Zeroth-order gradient estimators (RGE, CGE, SPSA) and BlackVIP's SPSA-GC optimiser.

A black-box prompt can only be tuned from loss values, so every gradient here is built from
perturbed copies of the parameters, evaluated in one batched loss call per estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .validation import check_choice, check_count, check_real, check_rng

LossBatch = Callable[[np.ndarray], np.ndarray]

ESTIMATORS = ("rge_gaussian", "rge_sphere", "cge", "spsa_rademacher", "spsa_segmented")
_SCHEMES = ("central", "forward")


# ----------------------------------------------------------------------------- validation


def _check_w(w: object) -> np.ndarray:
    try:
        w = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"w must be a 1-D array of real numbers, got {type(w).__name__}") from None
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"w must be a non-empty 1-D array, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("w must be finite (it contains NaN or inf)")
    return w


# ----------------------------------------------------------------------------- directions


def gaussian_directions(rng: np.random.Generator, q: int, d: int) -> np.ndarray:
    """Draw q directions in R^d with i.i.d. N(0, 1) entries (the Gaussian-smoothing RGE)."""
    return check_rng(rng).standard_normal((check_count("q", q), check_count("d", d)))


def sphere_directions(rng: np.random.Generator, q: int, d: int) -> np.ndarray:
    """Draw q directions uniform on the unit sphere in R^d (normalised Gaussians)."""
    u = gaussian_directions(rng, q, d)
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def rademacher_directions(rng: np.random.Generator, q: int, d: int) -> np.ndarray:
    """Draw q perturbations in R^d with i.i.d. +-1 entries (classic SPSA)."""
    shape = (check_count("q", q), check_count("d", d))
    return check_rng(rng).choice(np.array([-1.0, 1.0]), size=shape)


def segmented_uniform_directions(rng: np.random.Generator, q: int, d: int) -> np.ndarray:
    """Draw q perturbations from U([-1, -0.5] u [0.5, 1]), BlackVIP's SPSA perturbation:
    magnitudes of at least 0.5 keep SPSA's element-wise inverse bounded."""
    signs = rademacher_directions(rng, q, d)
    return signs * rng.uniform(0.5, 1.0, size=signs.shape)


_DIRECTIONS = {"gaussian": gaussian_directions, "sphere": sphere_directions}
_PERTURBATIONS = {"rademacher": rademacher_directions, "segmented": segmented_uniform_directions}


# ----------------------------------------------------------------------------- estimators


def _evaluate(loss_batch: LossBatch, points: np.ndarray) -> np.ndarray:
    """Call the black box once on all points and check it returned one loss per row."""
    if not callable(loss_batch):
        raise TypeError(f"loss_batch must be callable, got {type(loss_batch).__name__}")
    losses = np.asarray(loss_batch(points), dtype=np.float64)
    if losses.shape != (len(points),):
        raise ValueError(
            f"loss_batch must return shape ({len(points)},) for {len(points)} points, "
            f"got {losses.shape}"
        )
    if not np.all(np.isfinite(losses)):
        raise ValueError("loss_batch returned NaN or inf; check the loss and the perturbation size")
    return losses


def _central_differences(
    loss_batch: LossBatch, w: np.ndarray, dirs: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (f(w+step*u) - f(w-step*u)) / (2*step) per row u, plus both loss vectors."""
    losses = _evaluate(loss_batch, np.vstack([w + step * dirs, w - step * dirs]))
    f_plus, f_minus = losses[: len(dirs)], losses[len(dirs) :]
    return (f_plus - f_minus) / (2.0 * step), f_plus, f_minus


def _forward_differences(
    loss_batch: LossBatch, w: np.ndarray, dirs: np.ndarray, step: float
) -> np.ndarray:
    """Return (f(w+step*u) - f(w)) / step per row u, sharing the single f(w) evaluation."""
    losses = _evaluate(loss_batch, np.vstack([w, w + step * dirs]))
    return (losses[1:] - losses[0]) / step


def rge(
    loss_batch: LossBatch,
    w: np.ndarray,
    rng: np.random.Generator,
    *,
    mu: float = 1e-3,
    q: int = 1,
    directions: str = "gaussian",
    scheme: str = "central",
) -> np.ndarray:
    """Random gradient estimate: finite differences along q random directions, averaged.
    Sphere directions are scaled by d so that, like Gaussian ones, E[d * u u^T] = I."""
    w = _check_w(w)
    mu = check_real("mu", mu, positive=True)
    sample = _DIRECTIONS[check_choice("directions", directions, tuple(_DIRECTIONS))]
    check_choice("scheme", scheme, _SCHEMES)
    dirs = sample(rng, q, w.size)
    if scheme == "central":
        diffs = _central_differences(loss_batch, w, dirs, mu)[0]
    else:
        diffs = _forward_differences(loss_batch, w, dirs, mu)
    scale = w.size if directions == "sphere" else 1.0
    return scale * (diffs @ dirs) / len(dirs)


def cge(loss_batch: LossBatch, w: np.ndarray, *, mu: float = 1e-3) -> np.ndarray:
    """Coordinate-wise gradient estimate: central differences along every basis vector;
    exact for quadratics, but costs 2d loss evaluations."""
    w = _check_w(w)
    mu = check_real("mu", mu, positive=True)
    return _central_differences(loss_batch, w, np.eye(w.size), mu)[0]


def _spsa_with_losses(
    loss_batch: LossBatch,
    w: np.ndarray,
    rng: np.random.Generator,
    c: float,
    q: int,
    perturbation: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SPSA estimate plus the +/- loss vectors (SPSA-GC reports their means)."""
    w = _check_w(w)
    c = check_real("c", c, positive=True)
    sample = _PERTURBATIONS[check_choice("perturbation", perturbation, tuple(_PERTURBATIONS))]
    deltas = sample(rng, q, w.size)
    diffs, f_plus, f_minus = _central_differences(loss_batch, w, deltas, c)
    return (diffs @ (1.0 / deltas)) / len(deltas), f_plus, f_minus


def spsa(
    loss_batch: LossBatch,
    w: np.ndarray,
    rng: np.random.Generator,
    *,
    c: float = 0.01,
    q: int = 1,
    perturbation: str = "rademacher",
) -> np.ndarray:
    """SPSA estimate: one central difference per perturbation, divided element-wise by it, so 2
    evaluations estimate all d coordinates; q draws are averaged."""
    return _spsa_with_losses(loss_batch, w, rng, c, q, perturbation)[0]


_DISPATCH: dict[str, Callable[..., np.ndarray]] = {
    "rge_gaussian": lambda f, w, rng, **kw: rge(f, w, rng, directions="gaussian", **kw),
    "rge_sphere": lambda f, w, rng, **kw: rge(f, w, rng, directions="sphere", **kw),
    "cge": lambda f, w, rng, q=None, **kw: cge(f, w, **kw),
    "spsa_rademacher": lambda f, w, rng, **kw: spsa(f, w, rng, perturbation="rademacher", **kw),
    "spsa_segmented": lambda f, w, rng, **kw: spsa(f, w, rng, perturbation="segmented", **kw),
}


def estimate(
    method: str, loss_batch: LossBatch, w: np.ndarray, rng: np.random.Generator, **kwargs
) -> np.ndarray:
    """Run the estimator named `method`; `mu` is every method's perturbation size (the spsa_*
    methods' `c`), and cge ignores rng and q."""
    check_choice("method", method, ESTIMATORS)
    if not method.startswith("rge_") and kwargs.pop("scheme", "central") != "central":
        raise ValueError(f"scheme 'forward' applies only to rge_* methods, got method {method!r}")
    if method.startswith("spsa_") and "mu" in kwargs:
        if "c" in kwargs:
            raise ValueError("give the perturbation size once: mu or c, not both")
        kwargs["c"] = kwargs.pop("mu")
    return _DISPATCH[method](loss_batch, w, rng, **kwargs)


def num_points(method: str, d: int, q: int, scheme: str = "central") -> int:
    """Number of parameter vectors one estimate sends to the black box (its query cost); cge
    and spsa_* are always central."""
    check_choice("method", method, ESTIMATORS)
    d, q = check_count("d", d), check_count("q", q)
    check_choice("scheme", scheme, _SCHEMES)
    if scheme == "forward" and not method.startswith("rge_"):
        raise ValueError(f"scheme 'forward' applies only to rge_* methods, got method {method!r}")
    if method == "cge":
        return 2 * d
    return q + 1 if scheme == "forward" else 2 * q


# ----------------------------------------------------------------------------- SPSA-GC


@dataclass(frozen=True)
class SPSAGCConfig:
    """Hyper-parameters of SPSA with gradient correction (BlackVIP's defaults); correction=False
    turns the optimiser into plain SPSA with decaying gains."""

    a: float = 0.01
    c: float = 0.01
    o: float = 1.0
    alpha: float = 0.4
    gamma: float = 0.1
    beta: float = 0.9
    sp_avg: int = 5
    correction: bool = True
    perturbation: str = "segmented"

    def __post_init__(self) -> None:
        check_real("a", self.a, positive=True)
        check_real("c", self.c, positive=True)
        for name in ("o", "alpha", "gamma", "beta"):
            check_real(name, getattr(self, name))
        if self.beta >= 1:
            raise ValueError(f"beta must satisfy 0 <= beta < 1, got {self.beta!r}")
        check_count("sp_avg", self.sp_avg)
        if not isinstance(self.correction, bool):
            raise TypeError(f"correction must be a bool, got {self.correction!r}")
        check_choice("perturbation", self.perturbation, tuple(_PERTURBATIONS))

    def gains(self, k: int) -> tuple[float, float]:
        """Step size a_k = a / (k + o)^alpha and perturbation size c_k = c / k^gamma at step k."""
        k = check_count("k", k)
        return self.a / (k + self.o) ** self.alpha, self.c / k**self.gamma


@dataclass
class SPSAGCState:
    """Per-client optimiser state: the next step index k (from 1) and the correction vector m."""

    k: int = 1
    m: np.ndarray | None = None


def spsa_gc_step(
    loss_batch: LossBatch,
    w: np.ndarray,
    state: SPSAGCState,
    config: SPSAGCConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, SPSAGCState, dict]:
    """One SPSA-GC update; returns new parameters, a new state and a dict of diagnostics."""
    w = _check_w(w)
    if not isinstance(state, SPSAGCState):
        raise TypeError(f"state must be an SPSAGCState, got {type(state).__name__}")
    if not isinstance(config, SPSAGCConfig):
        raise TypeError(f"config must be an SPSAGCConfig, got {type(config).__name__}")
    if state.m is not None and np.shape(state.m) != w.shape:
        raise ValueError(f"state.m must have shape {w.shape}, got {np.shape(state.m)}")
    a_k, c_k = config.gains(state.k)
    g, f_plus, f_minus = _spsa_with_losses(
        loss_batch, w, rng, c_k, config.sp_avg, config.perturbation
    )
    if config.correction:
        m = config.beta * (np.zeros_like(w) if state.m is None else state.m) + g
        w_new = w - a_k * (g + config.beta * m)  # a Nesterov-style look-ahead
    else:
        m = None
        w_new = w - a_k * g
    info = {
        "k": int(state.k),
        "a_k": float(a_k),
        "c_k": float(c_k),
        "estimate_norm": float(np.linalg.norm(g)),
        "loss_plus_mean": float(f_plus.mean()),
        "loss_minus_mean": float(f_minus.mean()),
    }
    return w_new, SPSAGCState(k=state.k + 1, m=m), info
