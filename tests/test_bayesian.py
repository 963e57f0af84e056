"""InstructZero's Bayesian optimisation: the instruction-coupled kernel replayed from its formula,
the Sobol design, and proposals inside CMA-ES's bounds, best expected improvement first."""

import numpy as np
import pytest
import torch

from fedbbpt_lite import bayesian


def _history(count=8, dimension=10, examples=12, seed=0):
    rng = np.random.default_rng(seed)
    points = bayesian.sobol_points(count, dimension, seed)
    scores = (rng.random((count, examples)) < 0.5).astype(float)
    return points, scores.mean(1), scores


def test_the_kernel_is_instructzeros_formula():
    points, values, scores = _history()
    model, standard = bayesian.fit_surrogate(points, values, scores)
    assert standard.mean().abs() < 1e-9 and abs(float(standard.std()) - 1) < 1e-6
    scale = model.covar_module
    latent, score = scale.base_kernel.latent_kernel, scale.base_kernel.score_kernel
    z, s = torch.as_tensor(points), torch.as_tensor(scores)
    inverse = torch.inverse(latent.forward(z, z) + 1e-4 * torch.eye(len(z), dtype=torch.double))
    x = torch.as_tensor(np.random.default_rng(1).uniform(-1, 1, (3, 10)))
    expected = latent.forward(x, z) @ inverse @ score.forward(s, s) @ inverse @ latent.forward(z, x)
    torch.testing.assert_close(scale(x, x).to_dense(), scale.outputscale * expected)
    torch.testing.assert_close(scale(x, x, diag=True), torch.diagonal(scale(x, x).to_dense()))
    for kernel in (latent, score):  # Matern-5/2, one lengthscale a dimension, Gamma(3, 6) prior
        assert kernel.nu == 2.5 and kernel.lengthscale.shape[-1] == kernel.ard_num_dims
        assert (kernel.lengthscale_prior.concentration, kernel.lengthscale_prior.rate) == (3, 6)


def test_the_initial_design_is_scrambled_sobol_in_the_unit_cube():
    points = bayesian.sobol_points(25, 10, seed=0)
    again = torch.quasirandom.SobolEngine(10, scramble=True, seed=0).draw(25).double().numpy()
    np.testing.assert_array_equal(points, again)
    assert points.shape == (25, 10) and points.min() >= 0 and points.max() <= 1
    assert not np.array_equal(points, bayesian.sobol_points(25, 10, seed=1))


def test_proposals_lie_in_the_bounds_best_expected_improvement_first():
    points, values, scores = _history()
    proposed = bayesian.propose(points, values, scores, 3, seed=0)
    assert len(proposed) == 3 and all(p.shape == (10,) for p in proposed)
    assert all(np.abs(p).max() <= 1 for p in proposed)
    model, standard = bayesian.fit_surrogate(points, values, scores)
    ei = bayesian.expected_improvement(model, standard)
    with torch.no_grad():
        found = ei(torch.as_tensor(np.stack(proposed))[:, None, :]).numpy()
    assert list(found) == sorted(found, reverse=True)
    assert [p.tolist() for p in proposed] == [
        p.tolist() for p in bayesian.propose(points, values, scores, 3, seed=0)
    ]


def test_a_surrogate_needs_two_aligned_rows():
    points, values, scores = _history()
    with pytest.raises(ValueError, match="one row per evaluated point"):
        bayesian.fit_surrogate(points[:1], values[:1], scores[:1])
    with pytest.raises(ValueError, match="one row per evaluated point"):
        bayesian.fit_surrogate(points, values[:-1], scores)


def test_the_noise_prior_is_the_gamma_instructzeros_botorch_gave_singletaskgp():
    model, _ = bayesian.fit_surrogate(*_history())
    prior = model.likelihood.noise_covar.noise_prior
    assert type(prior).__name__ == "GammaPrior"
    assert (float(prior.concentration), float(prior.rate)) == pytest.approx((1.1, 0.05))


def test_of_tied_bests_the_latest_is_kept():
    assert bayesian.best_index([0.2, 0.5, 0.1, 0.5, 0.3]) == 3
    assert bayesian.best_index([0.9, 0.5]) == 0


def test_a_failed_fit_warns_and_keeps_the_starting_hyperparameters(monkeypatch):
    import botorch.fit
    from botorch.exceptions import ModelFittingError

    def fail(mll, **kwargs):
        raise ModelFittingError("All attempts to fit the model have failed.")

    monkeypatch.setattr(botorch.fit, "fit_gpytorch_mll", fail)
    with pytest.warns(RuntimeWarning, match="could not be fitted"):
        model, _ = bayesian.fit_surrogate(*_history())
    assert model.likelihood.noise.item() == pytest.approx((1.1 - 1) / 0.05)
