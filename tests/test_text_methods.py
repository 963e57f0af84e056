"""Text prompt methods on the embedding API: soft prompts, BDPL's candidate words, CMA-ES,
the linear probe, and whole experiments (controls, budgets, reproducibility)."""

import dataclasses
import inspect

import numpy as np
import pytest

from fedbbpt_lite.blackbox import EmbeddingBlackBox
from fedbbpt_lite.blackbox.text_encoder import shared_text_encoder
from fedbbpt_lite.datasets.text_sets import load_text
from fedbbpt_lite.evolution import CMAESConfig, cma_search
from fedbbpt_lite.federated import ClientContext
from fedbbpt_lite.prompts.discrete import (
    candidate_vocabulary,
    prompt_text,
    random_words,
    whole_words,
)
from fedbbpt_lite.prompts.soft import SoftPrompt, nearest_words
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.selection import LEARNED, choose
from fedbbpt_lite.tasks.text import SCALE, class_logits, label_embeddings
from fedbbpt_lite.tasks.text_clients import ProbeClient, probe_logits
from fedbbpt_lite.tasks.text_experiment import (
    CONTROLS,
    STEP_SIZES,
    TextExperiment,
    candidate_words,
    soft_prompt_for,
)

TEXTS = ["The striker scored twice in the cup final.", "Shares fell after the profit warning."]


@pytest.fixture(scope="module")
def bbc():
    """BBC News with a 50-text test set, so whole experiments stay quick."""
    data = load_text("bbc_news")
    return dataclasses.replace(data, test_texts=data.test_texts[::10], y_test=data.y_test[::10])


@pytest.fixture
def api():
    return EmbeddingBlackBox(cache=True)


# ----------------------------------------------------------------------------- soft prompts


def test_a_soft_prompt_starts_at_its_start_and_its_projection_comes_from_the_seed():
    start = np.random.default_rng(0).normal(size=(3, 8))
    prompt = SoftPrompt(start, intrinsic_dim=4, seed=1)
    assert np.allclose(prompt.embeddings(prompt.init_params()), start)
    z = np.array([1.0, -2.0, 0.5, 0.0])
    assert np.allclose(prompt.embeddings(z), SoftPrompt(start, 4, seed=1).embeddings(z))
    assert not np.allclose(prompt.embeddings(z), SoftPrompt(start, 4, seed=2).embeddings(z))
    assert prompt.tokens == 3 and prompt.embeddings(z).shape == (3, 8)
    with pytest.raises(ValueError, match="z must be 4"):
        prompt.embeddings(np.zeros(5))
    with pytest.raises(ValueError, match="start"):
        SoftPrompt(np.zeros(8))
    with pytest.raises(ValueError, match="scale"):
        SoftPrompt(start, scale=0.0)


def test_the_api_inserts_a_soft_prompt_and_caches_each_prompt_separately(api):
    plain = api.query(TEXTS)
    words = shared_text_encoder().token_embeddings
    prompt_a = words[shared_text_encoder().tokens("football match")].numpy()
    prompt_b = words[shared_text_encoder().tokens("stock market")].numpy()
    with_a, with_b = api.query(TEXTS, prompt_a), api.query(TEXTS, prompt_b)
    assert with_a.shape == (2, 384) and np.allclose(np.linalg.norm(with_a, axis=1), 1, atol=1e-5)
    assert not np.allclose(with_a, plain) and not np.allclose(with_a, with_b)
    calls = api.meter.calls
    assert np.array_equal(api.query(TEXTS, prompt_a), with_a), "the cache never changes an answer"
    assert api.meter.calls == calls and api.meter.saved_calls == 1
    uncached = EmbeddingBlackBox()
    assert np.allclose(uncached.query(TEXTS, prompt_b), with_b, atol=1e-6)


@pytest.mark.parametrize(
    ("soft_prompt", "error", "match"),
    [
        ("words", TypeError, "soft_prompt"),
        (np.zeros((2, 10)), ValueError, "384"),
        (np.zeros((0, 384)), ValueError, "tokens"),
        (np.full((1, 384), np.nan), ValueError, "finite"),
    ],
)
def test_bad_soft_prompts_are_refused_before_billing(api, soft_prompt, error, match):
    with pytest.raises(error, match=match):
        api.query(TEXTS, soft_prompt)
    assert api.meter.calls == 0


def test_the_soft_prompt_starts_at_the_manual_prompt(bbc):
    prompt = soft_prompt_for(bbc, intrinsic_dim=10, seed=0)
    encoder = shared_text_encoder()
    manual = encoder.token_embeddings[encoder.tokens(bbc.manual_prompt)].numpy()
    assert np.allclose(prompt.embeddings(prompt.init_params()), manual)
    with pytest.raises(ValueError, match="manual_prompt"):
        soft_prompt_for(dataclasses.replace(bbc, manual_prompt=" "), 10, 0)


# ----------------------------------------------------------------------------- BDPL's words


def test_candidates_are_topical_whole_words_from_each_class_in_turn():
    vocabulary = ["[CLS]", "##ing", "sport", "football", "money", "bank", "42", "the", "Tea"]
    embeddings = np.array(
        [[0, 0], [0, 0], [1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [1, 1], [0.5, 0.5], [1, 0]]
    )
    words = candidate_vocabulary(vocabulary, embeddings, [[2], [4]], 4)
    assert words == ["sport", "money", "football", "bank"]
    assert set(whole_words(vocabulary)) == {2, 3, 4, 5, 7}
    with pytest.raises(ValueError, match="size"):
        candidate_vocabulary(vocabulary, embeddings, [[2], [4]], 6)
    with pytest.raises(ValueError, match="class_tokens"):
        candidate_vocabulary(vocabulary, embeddings, [[2], []], 2)


def test_choosing_candidates_reads_no_client_text(bbc):
    """The server can choose them: blank every training text and the choice is the same."""
    assert "texts" not in inspect.signature(candidate_vocabulary).parameters
    blank = dataclasses.replace(bbc, train_texts=("x",) * len(bbc.train_texts))
    words = candidate_words(bbc, 40)
    assert words == candidate_words(blank, 40) and len(set(words)) == 40
    assert all(word.isalpha() for word in words)
    assert "sport" in words and "business" in words


def test_random_words_and_prompt_text():
    vocabulary = shared_text_encoder().vocabulary
    words = random_words(vocabulary, 5, np.random.default_rng(0))
    assert len(set(words)) == 5 and all(w.isalpha() and len(w) >= 3 for w in words)
    assert words == random_words(vocabulary, 5, np.random.default_rng(0))
    assert prompt_text(["a", "b", "c"], np.array([2, 0])) == "c a"
    with pytest.raises(ValueError, match="indices"):
        prompt_text(["a", "b"], np.array([2]))


# ----------------------------------------------------------------------------- CMA-ES


def test_cma_es_improves_a_known_function():
    target = np.linspace(-1, 1, 8)

    def loss(candidates):
        return ((candidates - target) ** 2).sum(axis=1)

    start = np.zeros(8)
    mean, sigma, info = cma_search(loss, start, 0.5, 40, CMAESConfig(popsize=10), seed=3)
    assert loss(mean[None])[0] < 0.05 * loss(start[None])[0]
    assert 0 < sigma < 0.5 and min(info["losses"]) < loss(start[None])[0]
    again, _, _ = cma_search(loss, start, 0.5, 40, CMAESConfig(popsize=10), seed=3)
    assert np.array_equal(mean, again), "the same seed gives the same search"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CMAESConfig(popsize=1), "popsize"),
        (lambda: CMAESConfig(sigma=0), "sigma"),
        (lambda: cma_search(np.sum, np.zeros(3), 1.0, 0, CMAESConfig(), 1), "generations"),
        (lambda: cma_search(np.sum, np.zeros(3), 1.0, 1, CMAESConfig(), 0), "seed"),
        (lambda: cma_search(np.sum, np.zeros((2, 2)), 1.0, 1, CMAESConfig(), 1), "mean"),
        (lambda: cma_search(lambda x: [1.0], np.zeros(3), 1.0, 1, CMAESConfig(), 1), "losses"),
    ],
)
def test_cma_es_checks_its_arguments(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


# ----------------------------------------------------------------------------- linear probe


def test_the_probe_starts_at_zero_shot_and_training_lowers_its_loss(api, bbc):
    texts, labels = list(bbc.train_texts[::40]), bbc.y_train[::40]
    probe = ProbeClient(ClientContext(0), api, texts, labels, bbc.prompts, 1, epochs=30, lr=30.0)
    head = probe.get_parameters({})
    embeddings = api.query(texts)
    zero_shot = class_logits(api, texts, bbc.prompts)
    assert np.allclose(probe_logits(head, embeddings), zero_shot, atol=1e-3)
    assert np.allclose(head[0], SCALE * label_embeddings(api, bbc.prompts))
    calls = api.meter.calls
    trained, count, metrics = probe.fit(head, {"seed": 0})
    assert count == len(texts) and metrics["api_calls"] <= 1 and api.meter.calls <= calls + 1
    before = probe_logits(head, embeddings)
    after = probe_logits(trained, embeddings)
    assert (after.argmax(1) == labels).mean() >= (before.argmax(1) == labels).mean()
    probe.fit(trained, {"seed": 1})
    assert api.meter.calls == calls + metrics["api_calls"], "texts are embedded once per client"


# ----------------------------------------------------------------------------- experiments

SMALL = {"clients": 2, "rounds": 2, "local_calls": 10, "batch_size": 4, "shots": 2}


# Each client scores the three controls and the learned prompt on its validation texts.
VALIDATION_CALLS = (len(CONTROLS) + 1) * SMALL["clients"]


def returned_accuracy(result: dict) -> float:
    """The test accuracy of what a one-model run returned, by its `selected`."""
    (chosen,) = result["selected"]
    return result["learned_accuracy"] if chosen == LEARNED else result["controls"][chosen]


@pytest.mark.parametrize("prompt", ["bdpl", "soft_cma", "soft_spsa", "probe"])
def test_a_short_federated_run_is_reproducible_from_its_seed(bbc, prompt):
    experiment = TextExperiment(
        prompt=prompt, prompt_length=2, candidates=10, step_size=STEP_SIZES[prompt], **SMALL
    )
    first, second = run_experiment(experiment, bbc), run_experiment(experiment, bbc)
    assert first == second
    assert set(first["controls"]) == {"empty", "manual", "random"}
    assert first["zero_shot_accuracy"] == first["controls"]["manual"]
    assert 0 <= first["accuracy"] <= 1 and len(first["train_loss"]) == SMALL["rounds"]
    per_round = first["accuracy_per_round"]  # round 0 is the starting prompt
    assert len(per_round) == SMALL["rounds"] + 1 and per_round[-1] == first["learned_accuracy"]
    assert first["accuracy"] == returned_accuracy(first)
    (scores,) = first["validation_accuracy"]
    assert set(scores) == {LEARNED, *CONTROLS} and first["selected"] == [choose(scores)]
    assert first["step_size"] == STEP_SIZES[prompt] and first["step_size_scores"] == {}
    assert first["validation_calls"] == VALIDATION_CALLS
    assert len(first["client_accuracy"]) == SMALL["clients"]
    if prompt == "probe":
        assert first["api_calls"] == 1 + SMALL["clients"] + VALIDATION_CALLS
    else:
        setup = SMALL["clients"] + 1 if prompt.startswith("soft") else 0  # class embeddings
        # a FedBPT client also scores its final mean for the server, once a round
        means = SMALL["clients"] * SMALL["rounds"] if prompt == "soft_cma" else 0
        assert first["api_calls"] == experiment.calls + setup + means + VALIDATION_CALLS
    if prompt == "bdpl":
        assert len(first["learned_prompts"][0].split()) == 2


@pytest.mark.parametrize("method", ["centralized", "local_only"])
def test_baselines_spend_the_same_budget(bbc, method):
    experiment = TextExperiment(
        method=method, prompt="bdpl", candidates=10, step_size=STEP_SIZES["bdpl"], **SMALL
    )
    result = run_experiment(experiment, bbc)
    # the pooled tuner validates on one pooled set; local tuners each on their own
    validation = len(CONTROLS) + 1 if method == "centralized" else VALIDATION_CALLS
    assert (
        result["api_calls"]
        == experiment.calls + validation
        == result["validation_calls"] + experiment.calls
    )
    assert len(result["learned_prompts"]) == (1 if method == "centralized" else 2)
    assert result["accuracy_per_round"] == [] and len(result["client_accuracy"]) == 2


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"method": "whitebox"}, "method"),
        ({"prompt": "manual"}, "prompt"),
        ({"local_calls": 0}, "local_calls"),
        ({"candidates": 1}, "candidates"),
        ({"step_size": -1.0}, "step_size"),
        ({"fraction_fit": 1.5}, "fraction_fit"),
    ],
)
def test_experiment_rejects_bad_settings_naming_them(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        TextExperiment(**kwargs)


def test_a_budget_that_does_not_divide_into_steps_is_refused(bbc):
    with pytest.raises(ValueError, match=r"local_calls \(10\) must be a multiple of the 4"):
        TextExperiment(prompt="bdpl", samples=4, candidates=10, **SMALL)


def test_nearest_words_read_a_soft_prompt_back_as_tokens():
    encoder = shared_text_encoder()
    ids = encoder.tokens("football market")
    table = encoder.token_embeddings.numpy()
    assert nearest_words(table[ids], encoder.vocabulary, table) == ["football", "market"]
    with pytest.raises(ValueError, match="width"):
        nearest_words(np.zeros((1, 3)), encoder.vocabulary, table)
