"""BDPL's discrete-prompt optimiser: simplex projection, prompt sampling, the variance-reduced
policy gradient against its known expectation, AdamW steps, and FedAvg on the simplex."""

import numpy as np
import pytest

from fedbbpt_lite.policy_gradient import (
    BDPLConfig,
    BDPLState,
    bdpl_step,
    best_prompt,
    policy_gradient,
    project_simplex,
    sample_prompts,
    uniform_theta,
)


def _on_simplex(theta):
    return np.allclose(theta.sum(axis=1), 1.0) and (theta >= 0).all() and (theta <= 1).all()


@pytest.mark.parametrize("seed", range(5))
def test_projection_lands_on_the_simplex_and_is_idempotent(seed):
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.2, 1.0, (4, 7))
    projected = project_simplex(theta)
    assert _on_simplex(projected)
    assert np.allclose(project_simplex(projected), projected, atol=1e-8)


def test_projection_is_the_euclidean_nearest_point_on_small_cases():
    # by hand: (0.5, 0.5, 0.5) -> shift 1/6 -> (1/3, 1/3, 1/3); (2, 0) -> (1, 0)
    assert np.allclose(project_simplex([[0.5, 0.5, 0.5]]), [[1 / 3] * 3])
    assert np.allclose(project_simplex([[2.0, 0.0]]), [[1.0, 0.0]])
    assert np.allclose(project_simplex([[0.7, 0.1, -0.4]]), [[0.8, 0.2, 0.0]])


def test_projection_rejects_bad_shapes():
    with pytest.raises(ValueError, match="theta"):
        project_simplex(np.ones(3))
    with pytest.raises(ValueError, match="theta"):
        project_simplex([[np.nan, 1.0]])


def test_sampled_prompts_follow_theta():
    theta = np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]])
    prompts = sample_prompts(theta, 20000, np.random.default_rng(0))
    assert prompts.shape == (20000, 2)
    assert np.allclose(np.bincount(prompts[:, 0], minlength=3) / 20000, theta[0], atol=0.01)
    assert (prompts[:, 1] == 2).all()


def test_policy_gradient_is_unbiased_for_the_simplex_gradient():
    # one position, loss L_k for candidate k: E[loss] = sum_k theta_k L_k. Its gradient along the
    # simplex is L - E[loss] * 1, which the variance-reduced estimator targets exactly.
    theta = np.array([[0.5, 0.3, 0.2]])
    table = np.array([1.0, 3.0, -2.0])
    want = table - theta[0] @ table
    rng = np.random.default_rng(0)
    estimates = []
    for _ in range(4000):
        prompts = sample_prompts(theta, 5, rng)
        estimates.append(policy_gradient(theta, prompts, table[prompts[:, 0]])[0])
    mean, stderr = np.mean(estimates, 0), np.std(estimates, 0) / np.sqrt(len(estimates))
    assert np.all(np.abs(mean - want) < 4 * stderr + 1e-3), (mean, want)


def test_policy_gradient_checks_its_inputs():
    theta = uniform_theta(2, 3)
    with pytest.raises(ValueError, match="prompts"):
        policy_gradient(theta, np.zeros((1, 2), int), [1.0])
    with pytest.raises(ValueError, match="losses"):
        policy_gradient(theta, np.zeros((3, 2), int), [1.0, 2.0])


def test_bdpl_steps_find_the_cheapest_candidate_at_every_position():
    costs = np.array([[3.0, 0.0, 2.0, 1.0], [1.0, 2.0, 3.0, 0.0]])  # best: candidates 1 and 3

    def loss_of_prompts(prompts):
        return costs[0, prompts[:, 0]] + costs[1, prompts[:, 1]]

    theta, state = uniform_theta(2, 4), BDPLState()
    config = BDPLConfig(lr=0.05, samples=10)
    rng = np.random.default_rng(0)
    for _ in range(60):
        theta, state, info = bdpl_step(theta, loss_of_prompts, state, config, rng)
        assert _on_simplex(theta)
    assert best_prompt(theta).tolist() == [1, 3]
    assert state.step == 60 and info["gradient_norm"] >= 0


def test_the_gradient_norm_is_clipped():
    theta = uniform_theta(1, 3)
    config = BDPLConfig(lr=1.0, samples=4, clip_norm=0.5, weight_decay=0.0)
    _, state, info = bdpl_step(
        theta, lambda p: 1000.0 * p[:, 0], BDPLState(), config, np.random.default_rng(1)
    )
    assert info["gradient_norm"] > 0.5  # reported before clipping
    assert np.linalg.norm(state.m) <= (1 - config.betas[0]) * 0.5 + 1e-9


def test_fedavg_of_simplex_rows_stays_on_the_simplex():
    rng = np.random.default_rng(0)
    clients = [project_simplex(rng.normal(size=(3, 5))) for _ in range(4)]
    weights = np.array([10, 30, 5, 55]) / 100
    average = sum(w * theta for w, theta in zip(weights, clients, strict=True))
    assert _on_simplex(average)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"lr": 0}, "lr"), ({"samples": 1}, "samples"), ({"clip_norm": -1}, "clip")],
)
def test_config_rejects_bad_values_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BDPLConfig(**kwargs)
