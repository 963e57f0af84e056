"""InstructZero's Bayesian optimisation of a soft prompt's z, with botorch (its library).

A GP's kernel couples z with the per-example scores of the instructions z produced; expected
improvement is maximised by CMA-ES from the best points so far. The first points are a scrambled
Sobol design in [0, 1]^d; proposals live in [-1, 1]^d (InstructZero's CMA-ES bounds).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .validation import check_count

# InstructZero's defaults: 25 Sobol points, then 5 iterations of up to 25 proposals each
INITIAL_POINTS, ITERATIONS, PROPOSALS = 25, 5, 25
JITTER = 1e-4  # added to k(Z, Z) before it is inverted, as InstructZero does
CMA_SIGMA, CMA_POPSIZE, CMA_GENERATIONS = 0.8, 50, 10


def _matern(dimensions: int):
    """Matern-5/2 with one lengthscale per dimension and InstructZero's Gamma(3, 6) prior."""
    from gpytorch.kernels import MaternKernel
    from gpytorch.priors import GammaPrior

    return MaternKernel(
        nu=2.5, ard_num_dims=dimensions, lengthscale_prior=GammaPrior(3.0, 6.0)
    ).double()


def instruction_kernel_class():
    """The instruction-coupled kernel as a gpytorch Kernel (gpytorch is imported on first use)."""
    from gpytorch.kernels import Kernel

    class InstructionKernel(Kernel):
        """K(a, b) = k(a, Z) (k(Z, Z) + 1e-4 I)^-1 K_s (k(Z, Z) + 1e-4 I)^-1 k(Z, b): a kernel k
        on z carried through the evaluated points Z, coupled by K_s, a kernel on the score
        vectors S of the instructions those points produced."""

        def __init__(self, latent_kernel, score_kernel, points, scores):
            super().__init__()
            self.latent_kernel, self.score_kernel = latent_kernel, score_kernel
            self.points, self.scores = points, scores

        def coupling(self) -> torch.Tensor:
            """(k(Z, Z) + jitter)^-1 K_s (k(Z, Z) + jitter)^-1, (N, N)."""
            latent = self.latent_kernel.forward(self.points, self.points)
            inverse = torch.inverse(
                latent + JITTER * torch.eye(len(self.points), dtype=latent.dtype)
            )
            return inverse @ self.score_kernel.forward(self.scores, self.scores) @ inverse

        def forward(self, x1, x2, diag: bool = False, **params):
            left = self.latent_kernel.forward(x1, self.points)  # (..., n1, N)
            right = self.latent_kernel.forward(x2, self.points)  # (..., n2, N)
            middle = left @ self.coupling()
            if diag:
                return (middle * right).sum(-1)
            return middle @ right.transpose(-1, -2)

    return InstructionKernel


def fit_surrogate(points, values, scores):
    """InstructZero's GP: y standardised, ScaleKernel(instruction-coupled Matern kernels), the
    hyper-parameters fitted by marginal likelihood. Returns (model, standardised y)."""
    from botorch.exceptions import ModelFittingError
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.utils.gpytorch_modules import get_gaussian_likelihood_with_gamma_prior
    from gpytorch.kernels import ScaleKernel
    from gpytorch.mlls import ExactMarginalLogLikelihood

    points = torch.as_tensor(np.asarray(points), dtype=torch.double)
    values = torch.as_tensor(np.asarray(values), dtype=torch.double).reshape(-1, 1)
    scores = torch.as_tensor(np.asarray(scores), dtype=torch.double)
    if not (len(points) == len(values) == len(scores)) or len(points) < 2:
        raise ValueError("points, values and scores need one row per evaluated point, two or more")
    standard = (values - values.mean()) / (values.std() + 1e-9)
    kernel = instruction_kernel_class()(
        _matern(points.shape[1]), _matern(scores.shape[1]), points, scores
    )
    # SingleTaskGP's noise prior was Gamma(1.1, 0.05) in the botorch InstructZero used; the
    # current default (LogNormal) assumes far less noise than an accuracy on a few examples has
    likelihood = get_gaussian_likelihood_with_gamma_prior().double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # botorch's advice to scale inputs to the unit cube
        model = SingleTaskGP(
            points,
            standard,
            likelihood=likelihood,
            covar_module=ScaleKernel(kernel).double(),
            outcome_transform=None,
        )
        try:
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            fitted = True
        except ModelFittingError:  # botorch restores the starting hyper-parameters
            fitted = False
    if not fitted:
        warnings.warn(
            "the GP's hyper-parameters could not be fitted; proposals use their starting values",
            RuntimeWarning,
            stacklevel=2,
        )
    return model, standard


def best_index(values) -> int:
    """Where the best value is; of tied bests the latest, as InstructZero keeps (>= on update)."""
    values = np.asarray(values, dtype=np.float64)
    return len(values) - 1 - int(np.argmax(values[::-1]))


def sobol_points(count: int, dimension: int, seed: int = 0) -> np.ndarray:
    """InstructZero's initial design: `count` scrambled Sobol points in [0, 1]^dimension."""
    from torch.quasirandom import SobolEngine

    engine = SobolEngine(check_count("dimension", dimension), scramble=True, seed=seed)
    return engine.draw(check_count("count", count)).double().numpy()


def expected_improvement(model, standard):
    """EI over the best standardised value so far (InstructZero's acquisition)."""
    from botorch.acquisition.analytic import ExpectedImprovement

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # botorch's advice to use LogEI; InstructZero uses EI
        return ExpectedImprovement(model, best_f=standard.max().item())


def propose(points, values, scores, count: int, seed: int = 0) -> list[np.ndarray]:
    """Up to `count` new points, best expected improvement first: CMA-ES (sigma 0.8, popsize 50,
    bounds [-1, 1], 10 generations) maximises EI from each of the `count` best points so far."""
    import cma

    model, standard = fit_surrogate(points, values, scores)
    improvement = expected_improvement(model, standard)
    order = np.argsort(-np.asarray(values, dtype=np.float64), kind="stable")[:count]
    found = []
    for number, start in enumerate(np.asarray(points, dtype=np.float64)[order]):
        options = {"bounds": [-1, 1], "popsize": CMA_POPSIZE, "seed": seed + number + 1}
        es = cma.CMAEvolutionStrategy(start, CMA_SIGMA, {**options, "verbose": -9})
        for _ in range(CMA_GENERATIONS):
            candidates = es.ask()
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ei = improvement(torch.tensor(np.array(candidates))[:, None, :]).numpy()
            es.tell(candidates, (-ei).tolist())
            if es.stop():
                break
        found.append((np.asarray(es.result.xbest), -es.result.fbest))
    return [x for x, _ in sorted(found, key=lambda pair: -pair[1])]
