"""Tests for the experiment engine behind `fedbbpt-lite run`: settings, the few-shot pool,
the prompt generators, white-box tuning, and every method at an equal, tiny API budget."""

from dataclasses import replace
from functools import cache

import numpy as np
import pytest
import torch

from fedbbpt_lite import zo
from fedbbpt_lite.datasets import load_vision
from fedbbpt_lite.datasets.vision_sets import VisionDataset
from fedbbpt_lite.prompts import Coordinator, GridPrompt, PaddingPrompt
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.selection import step_candidates
from fedbbpt_lite.tasks.vision import prompt_loss_fn
from fedbbpt_lite.tasks.vision_experiment import (
    METHODS,
    STEP_SIZES,
    VisionExperiment,
    VisionFamily,
    few_shot_index,
    few_shot_pool,
    make_generator,
)
from fedbbpt_lite.tasks.whitebox import true_gradient, tune_whitebox

RESULT_KEYS = {
    "task",
    "dataset",
    "method",
    "accuracy",
    "zero_shot_accuracy",
    "api_calls",
    "examples_sent",
    "rounds",
    "accuracy_per_round",
    "learned_accuracy",
    "selected",
    "validation_accuracy",
    "step_size",
    "step_size_scores",
}
# 2 clients x 2 rounds x 1 local step = 4 SPSA-GC steps; 2 shots x 10 classes = 20 images.
TINY = VisionExperiment(
    dataset="mnist_inverted", clients=2, rounds=2, local_steps=1, batch_size=8, shots=2,
    step_size=0.1,
)  # fmt: skip
# Validation queries of a tiny run: one for zero-shot and one for the learned prompt per holder
# of validation images (each client, or the pooled images of a centralised model).
VALIDATION_CALLS = {"fedbbpt": 4, "centralized": 2, "local_only": 4, "whitebox": 2}
TUNED = ("fedbbpt", "centralized", "local_only")


_load = cache(load_vision)


@pytest.fixture(scope="module")
def inverted() -> VisionDataset:
    return _load("mnist_inverted")


@pytest.fixture(scope="module")
def tiny_results(inverted, clip_shared) -> dict:
    """Each method run once on the tiny budget (shared by the tests below)."""
    results = {}
    for method in METHODS:
        experiment = replace(TINY, method=method)
        before = clip_shared.meter.calls
        result = run_experiment(experiment, inverted, clip_shared)
        result["_meter_calls"] = clip_shared.meter.calls - before
        results[method] = result
    return results


# --- VisionExperiment -------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("method", "gradient_descent"),
        ("generator", "pixels"),
        ("partition", "by_colour"),
        ("clients", 0),
        ("rounds", 0),
        ("local_steps", 0),
        ("batch_size", 0),
        ("shots", 0),
        ("alpha", 0),
        ("alpha", float("nan")),
        ("fraction_fit", 0),
        ("server_learning_rate", 0),
        ("step_size", -1),
        ("step_size", 0),
        ("seed", -1),
    ],
)
def test_experiment_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        VisionExperiment(**{field: value})


@pytest.mark.parametrize(
    "field, value", [("clients", 2.5), ("rounds", True), ("seed", "0"), ("alpha", "big")]
)
def test_experiment_rejects_wrong_types_naming_the_field(field, value):
    with pytest.raises(TypeError, match=field):
        VisionExperiment(**{field: value})


def test_experiment_defaults_are_valid_and_frozen():
    experiment = VisionExperiment()
    assert experiment.method == "fedbbpt" and experiment.step_size is None
    with pytest.raises(AttributeError):
        experiment.clients = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "clients, rounds, local_steps, fraction_fit, steps",
    [
        (4, 3, 2, 1.0, 3 * 4 * 2),
        (1, 1, 1, 1.0, 1),
        (4, 3, 2, 0.5, 3 * 2 * 2),
        (5, 2, 3, 0.5, 2 * 2 * 3),  # int(2.5) = 2 clients a round
        (10, 2, 1, 0.01, 2 * 1 * 1),  # never fewer than one client a round
    ],
)
def test_steps_is_rounds_times_clients_per_round_times_local_steps(
    clients, rounds, local_steps, fraction_fit, steps
):
    experiment = VisionExperiment(
        clients=clients, rounds=rounds, local_steps=local_steps, fraction_fit=fraction_fit
    )
    assert experiment.steps == steps


# --- few_shot_pool ----------------------------------------------------------------------


def test_few_shot_pool_draws_exactly_shots_per_class(inverted):
    x, y = few_shot_pool(inverted, 3, np.random.default_rng(0))
    assert x.shape == (30, 1, 28, 28) and y.shape == (30,)
    assert np.bincount(y, minlength=10).tolist() == [3] * 10
    # every drawn image is a pool image with its own label
    pool = inverted.x_train.flatten(1)
    for image, label in zip(x.flatten(1), y, strict=True):
        matches = torch.nonzero((pool == image).all(dim=1)).flatten().tolist()
        assert matches and int(inverted.y_train[matches[0]]) == label


def test_few_shot_pool_is_reproducible_per_seed(inverted):
    x1, y1 = few_shot_pool(inverted, 4, np.random.default_rng(7))
    x2, y2 = few_shot_pool(inverted, 4, np.random.default_rng(7))
    x3, _ = few_shot_pool(inverted, 4, np.random.default_rng(8))
    assert torch.equal(x1, x2) and np.array_equal(y1, y2)
    assert not torch.equal(x1, x3), "another seed should draw other images"


def test_few_shot_pool_raises_when_a_class_is_too_small():
    labels = torch.tensor([0, 0, 0, 1, 1])
    data = VisionDataset(
        "tiny",
        torch.zeros(5, 1, 28, 28),
        labels,
        torch.zeros(2, 1, 28, 28),
        torch.tensor([0, 1]),
        ("a", "b"),
        "{}",
    )
    x, y = few_shot_pool(data, 2, np.random.default_rng(0))
    assert sorted(y.tolist()) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="class 1 has 2 pool examples, fewer than shots=3"):
        few_shot_pool(data, 3, np.random.default_rng(0))


def test_few_shot_pool_raises_for_more_shots_than_the_pool(inverted):
    with pytest.raises(ValueError, match="fewer than shots=1000"):
        few_shot_pool(inverted, 1000, np.random.default_rng(0))


# --- make_generator ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, kind", [("grid", GridPrompt), ("padding", PaddingPrompt), ("coordinator", Coordinator)]
)
@pytest.mark.parametrize("dataset, channels", [("mnist_inverted", 1), ("mnist_biased", 3)])
def test_make_generator_starts_at_zero_shot_with_the_data_sets_channels(
    name, kind, dataset, channels
):
    data = _load(dataset)
    assert data.x_train.shape[1] == channels
    generator = make_generator(name, data.x_train.shape[1], seed=0)
    assert isinstance(generator, kind)
    assert generator.channels == channels
    images = data.x_test[:6]
    prompted = generator.apply(generator.init_params(), images)
    assert prompted.shape == (1, 6, channels, 28, 28)
    assert torch.equal(prompted[0], images), "a fresh generator must leave the images as they are"


def test_make_generator_rejects_unknown_names():
    with pytest.raises(ValueError, match="generator"):
        make_generator("pixels", 1, seed=0)


def test_grid_generator_has_more_parameters_with_more_channels():
    assert make_generator("grid", 3, 0).num_params == 3 * make_generator("grid", 1, 0).num_params


# --- tune_whitebox ----------------------------------------------------------------------


def test_tune_whitebox_lowers_the_cross_entropy_of_a_grid_prompt(inverted, clip):
    rng = np.random.default_rng(0)
    index = torch.from_numpy(rng.choice(len(inverted.y_train), 32, replace=False))
    images, labels = inverted.x_train[index], inverted.y_train[index].numpy()
    generator = GridPrompt()
    loss = prompt_loss_fn(clip, generator, images, labels, inverted.prompts)
    w = tune_whitebox(
        generator, images, labels, inverted.prompts, rng, steps=30, batch_size=16, lr=0.05
    )
    assert w.shape == (generator.num_params,) and w.dtype == np.float64
    assert np.abs(w).max() > 0, "the prompt should have moved"
    before, after = float(loss(generator.init_params())[0]), float(loss(w)[0])
    assert after < 0.7 * before, (before, after)


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 1.5}, TypeError, "steps"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"lr": -0.1}, ValueError, "lr"),
        ({"rng": 0}, TypeError, "rng"),
        ({"rng": None}, TypeError, "rng"),
    ],
)
def test_tune_whitebox_validates_its_arguments(inverted, kwargs, error, name):
    arguments = {"rng": np.random.default_rng(0), "steps": 2, "batch_size": 4, "lr": 0.05}
    arguments.update(kwargs)
    rng = arguments.pop("rng")
    with pytest.raises(error, match=name):
        tune_whitebox(
            GridPrompt(),
            inverted.x_train[:8],
            inverted.y_train[:8].numpy(),
            inverted.prompts,
            rng,
            **arguments,
        )


# --- run_experiment -------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_run_vision_reports_every_field(tiny_results, method):
    result = tiny_results[method]
    assert RESULT_KEYS <= set(result)
    assert result["task"] == "vision" and result["method"] == method
    assert result["dataset"] == "mnist_inverted" and result["rounds"] == TINY.rounds
    assert 0.0 <= result["accuracy"] <= 1.0 and 0.0 <= result["zero_shot_accuracy"] <= 1.0
    assert result["api_calls"] == result["_meter_calls"], "api_calls must be what was billed"


def test_zero_shot_is_the_same_for_every_method(tiny_results):
    zero_shot = {result["zero_shot_accuracy"] for result in tiny_results.values()}
    assert len(zero_shot) == 1, zero_shot


def test_zero_shot_spends_nothing_and_scores_its_own_zero_shot(tiny_results):
    result = tiny_results["zero_shot"]
    assert result["api_calls"] == 0 and result["examples_sent"] == 0
    assert result["accuracy"] == result["zero_shot_accuracy"]
    assert result["accuracy_per_round"] == []


@pytest.mark.parametrize("method", TUNED)
def test_black_box_methods_spend_the_same_budget_and_bill_validation(tiny_results, method):
    result = tiny_results[method]
    steps = TINY.steps
    assert steps == 4
    assert result["api_calls"] == steps + VALIDATION_CALLS[method]
    assert result["validation_calls"] == VALIDATION_CALLS[method]
    # each step sends 2 x sp_avg prompted copies of a batch_size batch; validation sends the
    # clients' 20 validation images twice (zero-shot and learned)
    training = steps * 2 * zo.SPSAGCConfig().sp_avg * TINY.batch_size
    assert result["examples_sent"] == training + 2 * 20


def test_whitebox_spends_api_calls_on_validation_only(tiny_results):
    assert tiny_results["whitebox"]["api_calls"] == VALIDATION_CALLS["whitebox"]
    assert tiny_results["whitebox"]["examples_sent"] == 2 * 20
    result = tiny_results["whitebox"]
    assert result["learned_accuracy"] != result["zero_shot_accuracy"]


def test_fedbbpt_reports_the_accuracy_after_every_round(tiny_results):
    result = tiny_results["fedbbpt"]
    per_round = result["accuracy_per_round"]
    assert len(per_round) == TINY.rounds + 1
    assert per_round[0] == result["zero_shot_accuracy"]
    assert per_round[-1] == result["learned_accuracy"]
    assert all(0.0 <= a <= 1.0 for a in per_round)
    for method in ("centralized", "local_only", "whitebox"):
        assert tiny_results[method]["accuracy_per_round"] == [], method


@pytest.mark.parametrize("method", ["fedbbpt", "local_only"])
def test_the_same_experiment_gives_the_same_result(tiny_results, inverted, clip, method):
    again = run_experiment(replace(TINY, method=method), inverted, clip)
    first = {k: v for k, v in tiny_results[method].items() if not k.startswith("_")}
    assert again == first


def test_another_seed_changes_the_fedbbpt_run(tiny_results, inverted, clip):
    other = run_experiment(replace(TINY, method="fedbbpt", seed=1), inverted, clip)
    first = tiny_results["fedbbpt"]
    assert other["seed"] == 1 and other["api_calls"] == first["api_calls"]
    assert other["zero_shot_accuracy"] == first["zero_shot_accuracy"]
    assert other["accuracy_per_round"] != first["accuracy_per_round"]


def test_run_vision_loads_the_named_data_set_when_none_is_given(clip):
    experiment = replace(TINY, dataset="mnist", method="zero_shot")
    result = run_experiment(experiment, api=clip)
    assert result["dataset"] == "mnist" and result["api_calls"] == 0
    assert result["accuracy"] >= 0.9, "MiniCLIP's own domain should be easy"


def test_a_short_fedbbpt_run_beats_zero_shot(inverted, clip):
    experiment = VisionExperiment(
        dataset="mnist_inverted",
        method="fedbbpt",
        clients=5,
        rounds=3,
        local_steps=3,
        batch_size=8,
        shots=8,
        step_size=0.1,
    )
    result = run_experiment(experiment, inverted, clip)
    assert experiment.steps == 45
    assert result["api_calls"] == clip.meter.calls == 45 + 2 * 5  # and validation
    assert result["selected"] == ["learned"]
    assert result["accuracy"] >= result["zero_shot_accuracy"] + 0.03, result


# --- model selection on the clients' validation images ------------------------------------


def test_each_client_validates_on_pool_images_beside_its_training_share(inverted, clip):
    fed = VisionFamily(replace(TINY, partition="dirichlet"), inverted, clip)
    pool = inverted.y_train.numpy()
    index = few_shot_index(inverted, TINY.shots, np.random.default_rng(TINY.seed))
    for held, part in zip(fed.held, fed.parts, strict=True):
        assert not set(held) & set(index)
        assert np.array_equal(
            np.bincount(pool[held], minlength=10), np.bincount(fed.labels[part], minlength=10)
        )


def test_a_prompt_worse_than_zero_shot_on_validation_is_not_returned(inverted, clip):
    wild = run_experiment(replace(TINY, step_size=1000.0), inverted, clip)
    (scores,) = wild["validation_accuracy"]
    assert scores["learned"] <= scores["zero_shot"] and wild["selected"] == ["zero_shot"]
    assert wild["accuracy"] == wild["zero_shot_accuracy"] > wild["learned_accuracy"]
    assert (
        wild["client_accuracy"]
        == run_experiment(replace(TINY, method="zero_shot"), inverted, clip)["client_accuracy"]
    )


def test_a_pool_with_nothing_left_to_validate_on_returns_what_was_learned(inverted, clip):
    labels = inverted.y_train.numpy()
    two = np.concatenate([np.flatnonzero(labels == c)[: TINY.shots] for c in range(10)])
    tight = replace(inverted, x_train=inverted.x_train[two], y_train=inverted.y_train[two])
    result = run_experiment(TINY, tight, clip)
    assert result["selected"] == ["learned"] and result["validation_calls"] == 0
    assert np.isnan(result["validation_accuracy"][0]["learned"])
    assert result["api_calls"] == TINY.steps
    assert result["accuracy"] == result["learned_accuracy"]


def test_without_a_step_size_validation_picks_it_and_the_test_set_never_does(inverted, clip):
    searched = run_experiment(replace(TINY, step_size=None), inverted, clip)
    tried = searched["step_size_scores"]
    assert list(tried) == step_candidates(STEP_SIZES["grid"], None)
    assert searched["step_size"] == max(tried, key=tried.get)
    again = run_experiment(replace(TINY, step_size=searched["step_size"]), inverted, clip)
    for key in ("learned_accuracy", "accuracy_per_round", "validation_accuracy"):
        assert again[key] == searched[key], key
    # every candidate spends the training budget and its validation queries
    assert searched["api_calls"] == len(tried) * (TINY.steps + 2) + 2
    shuffled = replace(inverted, y_test=inverted.y_test[torch.randperm(len(inverted.y_test))])
    blind = run_experiment(replace(TINY, step_size=None), shuffled, clip)
    for key in ("step_size_scores", "selected", "validation_accuracy"):
        assert blind[key] == searched[key], key


@pytest.mark.parametrize("method", METHODS)
def test_every_method_reports_one_accuracy_per_client(tiny_results, method):
    per_client = tiny_results[method]["client_accuracy"]
    assert len(per_client) == TINY.clients and all(0.0 <= a <= 1.0 for a in per_client)
    if method != "local_only":
        # one shared model on a class-balanced test set: equal-sized IID clients average back to
        # its plain accuracy
        assert np.mean(per_client) == pytest.approx(tiny_results[method]["accuracy"], abs=1e-3)


def test_true_gradient_matches_finite_differences_of_the_api_loss(inverted, clip):
    x, y = few_shot_pool(inverted, 2, np.random.default_rng(0))
    prompt = GridPrompt(channels=1)
    w = np.random.default_rng(1).normal(0, 0.3, prompt.num_params)
    gradient = true_gradient(prompt, w, x, y, inverted.prompts)
    assert gradient.shape == w.shape and gradient.dtype == np.float64
    loss_batch = prompt_loss_fn(clip, prompt, x, y, inverted.prompts)
    for i in np.argsort(-np.abs(gradient))[:3]:
        step = np.zeros_like(w)
        step[i] = 1e-2
        plus, minus = loss_batch(np.stack([w + step, w - step]))
        assert (plus - minus) / 2e-2 == pytest.approx(gradient[i], rel=0.05, abs=1e-3)
