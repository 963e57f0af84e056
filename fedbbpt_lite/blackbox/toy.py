"""Analytic toy objectives served as black boxes, so ZO estimates can be checked exactly.

Each ToyFunction knows its true gradient (for the lesson's checks); ToyBlackBox hides it
and answers only loss values, billed like any other API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..validation import check_count
from .base import BlackBox


@dataclass(frozen=True)
class ToyFunction:
    """A smooth test function of dimension `dim` with its analytic gradient."""

    name: str
    dim: int

    def __post_init__(self):
        if self.name not in TOY_FUNCTIONS:
            raise ValueError(f"name must be one of {sorted(TOY_FUNCTIONS)}, got {self.name!r}")
        check_count("dim", self.dim, minimum=2)

    @property
    def curvatures(self) -> np.ndarray:
        """Per-coordinate curvature of the quadratic: log-spaced from 1 to 10."""
        return np.logspace(0, 1, self.dim)

    def value(self, W: np.ndarray) -> np.ndarray:
        """f at each row of W (shape (m, dim)) -> (m,)."""
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        if W.ndim != 2 or W.shape[1] != self.dim:
            raise ValueError(f"W must have shape (m, {self.dim}), got {W.shape}")
        if self.name == "quadratic":
            return 0.5 * (W**2 * self.curvatures).sum(-1)
        if self.name == "quartic":
            return (W**4).sum(-1) / 4
        if self.name == "rosenbrock":
            return (100 * (W[:, 1:] - W[:, :-1] ** 2) ** 2 + (1 - W[:, :-1]) ** 2).sum(-1)
        return (W**2 - np.cos(2 * np.pi * W) + 1).sum(-1)  # rastrigin

    def gradient(self, w: np.ndarray) -> np.ndarray:
        """The true gradient at one point w (shape (dim,))."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (self.dim,):
            raise ValueError(f"w must have shape ({self.dim},), got {w.shape}")
        if self.name == "quadratic":
            return self.curvatures * w
        if self.name == "quartic":
            return w**3
        if self.name == "rosenbrock":
            g = np.zeros_like(w)
            inner = w[1:] - w[:-1] ** 2
            g[:-1] = -400 * w[:-1] * inner - 2 * (1 - w[:-1])
            g[1:] += 200 * inner
            return g
        return 2 * w + 2 * np.pi * np.sin(2 * np.pi * w)


TOY_FUNCTIONS = {
    "quadratic": "ill-conditioned bowl, curvatures 1..10: central differences are exact",
    "quartic": "sum w^4/4: Gaussian smoothing with radius mu biases the gradient by 3 mu^2 w",
    "rosenbrock": "the curved valley: hard for any first-order method",
    "rastrigin": "bowl plus ripples: smoothing averages the ripples away",
}


class ToyBlackBox(BlackBox):
    """Answers f(w) for a batch of parameter vectors (rows); each row is one billed example."""

    outputs = ("value",)

    def __init__(self, function: ToyFunction, **api_options):
        super().__init__(output="value", **api_options)
        self._function = function

    @property
    def dim(self) -> int:
        """Number of parameters the function takes."""
        return self._function.dim

    def _prepare(self, inputs, *args) -> tuple[torch.Tensor, tuple]:
        if args:
            raise TypeError(
                f"a toy black box takes only the inputs, got {len(args)} more arguments"
            )
        W = torch.as_tensor(inputs, dtype=torch.float64).detach()
        W = W.unsqueeze(0) if W.ndim == 1 else W
        if W.ndim != 2 or W.shape[1] != self.dim:
            raise ValueError(f"inputs must have shape (m, {self.dim}), got {tuple(W.shape)}")
        return W, ()

    def _count(self, inputs: torch.Tensor) -> int:
        return int(inputs.shape[0])

    def _forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._function.value(inputs.numpy()))
