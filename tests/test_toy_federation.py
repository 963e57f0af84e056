"""Tests for the toy federation behind lesson 03's client-drift experiment."""

import numpy as np
import pytest

from fedbbpt_lite.federated import FedAvg, run_simulation
from fedbbpt_lite.tasks.toy_federation import QuadraticFederation


def test_optimum_minimises_the_federated_objective():
    federation = QuadraticFederation(num_clients=4, dim=3, seed=1)
    optimum = federation.optimum()
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert federation.loss(optimum) <= federation.loss(optimum + 0.01 * rng.normal(size=3))


def test_one_local_step_converges_and_many_drift():
    federation = QuadraticFederation(num_clients=5, dim=3, seed=0)
    distances = {}
    for local_steps in (1, 20):
        history = run_simulation(federation.client_fn(local_steps), 5, FedAvg(), 60, seed=0)
        distances[local_steps] = np.linalg.norm(history.parameters[0] - federation.optimum())
    assert distances[1] < 5e-3
    assert distances[20] > 0.1


def test_identical_clients_do_not_drift():
    federation = QuadraticFederation(num_clients=5, dim=3, heterogeneity=0.0)
    history = run_simulation(federation.client_fn(20), 5, FedAvg(), 5, seed=0)
    assert np.linalg.norm(history.parameters[0] - federation.optimum()) < 1e-3


def test_bad_arguments_name_themselves():
    with pytest.raises((TypeError, ValueError), match="num_clients"):
        QuadraticFederation(num_clients=0)
    with pytest.raises((TypeError, ValueError), match="local_steps"):
        QuadraticFederation().client_fn(0)


@pytest.mark.parametrize("local_steps", [1, 5, 50])
def test_fedavg_settles_where_the_closed_form_says(local_steps):
    federation = QuadraticFederation(num_clients=6, dim=4, seed=2)
    history = run_simulation(federation.client_fn(local_steps), 6, FedAvg(), 150, seed=0)
    predicted = federation.drift_fixed_point(local_steps)
    np.testing.assert_allclose(history.parameters[0], predicted, atol=1e-4)
    if local_steps == 1:
        np.testing.assert_allclose(predicted, federation.optimum(), atol=1e-12)
