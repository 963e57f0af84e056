"""Privacy made visible: what a client's reply carries (and never carries), and client-level
differential privacy by clipping updates and adding Gaussian noise at the server."""

import numpy as np
import pytest

from fedbbpt_lite.datasets.vision_sets import load_vision
from fedbbpt_lite.federated import ClientContext, FitResult
from fedbbpt_lite.federated.privacy import DPFedAvg
from fedbbpt_lite.prompts import GridPrompt
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.text_experiment import TextExperiment
from fedbbpt_lite.tasks.vision_client import PromptClient
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment
from fedbbpt_lite.zo import SPSAGCConfig


def _results(updates, sizes=None):
    sizes = sizes or [10] * len(updates)
    return [
        FitResult(k, [np.asarray(u, dtype=np.float64)], n, {})
        for k, (u, n) in enumerate(zip(updates, sizes, strict=True))
    ]


def test_without_noise_or_binding_clip_it_is_the_plain_mean_of_the_updates():
    strategy = DPFedAvg(clip_norm=100.0, noise_multiplier=0.0)
    new, metrics = strategy.aggregate_fit(
        1, [np.zeros(3)], _results([[1, 0, 0], [0, 3, 0]], [1, 9])
    )
    np.testing.assert_allclose(new[0], [0.5, 1.5, 0.0])  # equal weights, not example weights
    assert metrics["clipped_fraction"] == 0 and metrics["noise_std"] == 0


def test_one_client_moves_the_average_by_at_most_clip_norm_over_m():
    strategy = DPFedAvg(clip_norm=1.0, noise_multiplier=0.0)
    global_ = [np.full(4, 2.0)]
    results = _results([2.0 + np.array([1e6, 0, 0, 0]), np.full(4, 2.0), np.full(4, 2.0)])
    new, metrics = strategy.aggregate_fit(1, global_, results)
    assert np.linalg.norm(new[0] - global_[0]) == pytest.approx(1.0 / 3)
    assert metrics["clipped_fraction"] == pytest.approx(1 / 3)


def test_the_noise_has_standard_deviation_multiplier_times_clip_over_m():
    strategy = DPFedAvg(clip_norm=2.0, noise_multiplier=1.5, noise_seed=4)
    zeros = [np.zeros(20_000)]
    new, metrics = strategy.aggregate_fit(3, zeros, _results([np.zeros(20_000)] * 5))
    assert metrics["noise_std"] == pytest.approx(1.5 * 2.0 / 5)
    assert np.std(new[0]) == pytest.approx(0.6, rel=0.03)
    again, _ = DPFedAvg(clip_norm=2.0, noise_multiplier=1.5, noise_seed=4).aggregate_fit(
        3, zeros, _results([np.zeros(20_000)] * 5)
    )
    np.testing.assert_array_equal(new[0], again[0])  # seeded: a run can be repeated


@pytest.mark.parametrize(
    "options, message",
    [
        ({"clip_norm": 0.0, "noise_multiplier": 1.0}, "clip_norm"),
        ({"clip_norm": 1.0, "noise_multiplier": -1.0}, "noise_multiplier"),
        ({"clip_norm": 1.0, "noise_multiplier": 1.0, "noise_seed": -1}, "noise_seed"),
    ],
)
def test_dp_settings_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        DPFedAvg(**options)


def test_a_dp_run_reports_its_settings_and_what_clipping_did():
    experiment = VisionExperiment(
        clients=4, rounds=2, local_steps=1, shots=4, clip_norm=0.05, noise_multiplier=1.0
    )
    result = run_experiment(experiment)
    assert result["privacy"]["noise_multiplier"] == 1.0 and result["clip_norm"] == 0.05
    assert len(result["privacy"]["clipped_fraction"]) == 2
    with pytest.raises(ValueError, match="applies to method 'fedbbpt' only"):
        VisionExperiment(method="centralized", clip_norm=0.05)
    with pytest.raises(ValueError, match="noise_multiplier needs a clip_norm"):
        VisionExperiment(noise_multiplier=1.0)
    with pytest.raises(ValueError, match="not soft_cma"):
        TextExperiment(prompt="soft_cma", clip_norm=0.05)


def test_a_reply_carries_parameters_a_count_and_three_numbers_never_data(clip):
    data = load_vision("mnist_inverted")
    images, labels = data.x_train[:24], data.y_train[:24].numpy()
    prompt = GridPrompt()
    client = PromptClient(
        ClientContext(0), clip, prompt, images, labels, data.prompts, SPSAGCConfig(a=0.1), 2, 8
    )
    parameters, count, metrics = client.fit([prompt.init_params()], {"seed": 0})
    assert [p.shape for p in parameters] == [(prompt.num_params,)]  # 49 numbers of a prompt
    assert count == 24  # how many examples, not which
    assert set(metrics) == {"train_loss", "api_calls", "examples_sent"}
    assert all(isinstance(v, int | float) for v in metrics.values())
    assert parameters[0].size < images[0].numel()  # fewer numbers than one private image


def test_epsilon_replays_the_rdp_bound_of_the_full_participation_gaussian_mechanism():
    # Every client every round: each round is a Gaussian mechanism of sensitivity C and noise zC,
    # whose Renyi DP of order a is a / (2 z^2); rounds add up. Opacus turns RDP into (eps, delta)
    # with Balle et al.'s conversion, minimised over its grid of orders.
    from opacus.accountants.rdp import RDPAccountant

    from fedbbpt_lite.federated import epsilon

    z, rounds, delta = 1.3, 7, 1e-5
    orders = np.array(RDPAccountant.DEFAULT_ALPHAS, dtype=float)
    rdp = rounds * orders / (2 * z**2)
    by_hand = rdp - (np.log(delta) + np.log(orders)) / (orders - 1) + np.log((orders - 1) / orders)
    assert epsilon(z, 1.0, rounds, delta) == pytest.approx(by_hand.min(), rel=1e-9)


def test_epsilon_falls_with_noise_and_sampling_and_grows_with_rounds():
    from fedbbpt_lite.federated import epsilon

    assert epsilon(2.0, 1.0, 10) < epsilon(1.0, 1.0, 10)
    assert epsilon(1.0, 0.1, 10) < epsilon(1.0, 1.0, 10)
    assert epsilon(1.0, 1.0, 20) > epsilon(1.0, 1.0, 10)


@pytest.mark.parametrize(
    "arguments",
    [
        {"noise_multiplier": 0.0},
        {"sample_rate": 1.5},
        {"sample_rate": 0.0},
        {"rounds": 0},
        {"delta": 1.0},
    ],
)
def test_epsilon_names_a_bad_argument(arguments):
    from fedbbpt_lite.federated import epsilon

    settings = {"noise_multiplier": 1.0, "sample_rate": 1.0, "rounds": 3, "delta": 1e-5}
    (name,) = arguments
    with pytest.raises((TypeError, ValueError), match=name):
        epsilon(**(settings | arguments))
