"""Model selection on the clients' validation examples: drawn beside the training shares with
their label counts, never from the test set; the learned prompt returned only if it wins."""

from pathlib import Path

import numpy as np
import pytest

from fedbbpt_lite.blackbox.meter import BudgetExceededError
from fedbbpt_lite.datasets.text_sets import load_text
from fedbbpt_lite.federated import partition
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.selection import (
    LEARNED,
    STEP_MULTIPLIERS,
    choose,
    holder_groups,
    pick,
    search_steps,
    step_candidates,
    step_checkpoint,
    validation_accuracy,
    validation_shares,
)
from fedbbpt_lite.tasks.text_experiment import STEP_SIZES, TextExperiment


def test_validation_shares_mirror_each_clients_training_labels_outside_its_draw():
    rng = np.random.default_rng(0)
    pool = np.repeat(np.arange(3), 20)
    train = np.concatenate([np.flatnonzero(pool == c)[:4] for c in range(3)])
    parts = partition.partition(pool[train], 3, "dirichlet", rng, alpha=0.5)
    shares = validation_shares(pool, train, parts, seed=0)
    for share, part in zip(shares, parts, strict=True):
        assert not set(share) & set(train)
        assert np.array_equal(np.bincount(pool[share], minlength=3),
                              np.bincount(pool[train][part], minlength=3))  # fmt: skip
    everything = np.concatenate(shares)
    assert len(everything) == len(set(everything)), "no example validates for two clients"
    assert [s.tolist() for s in validation_shares(pool, train, parts, 0)] == [
        s.tolist() for s in shares
    ]


def test_validation_shares_take_what_the_pool_has_left_and_none_when_nothing_is():
    pool = np.array([0, 0, 0, 1, 1])
    shares = validation_shares(pool, np.array([0, 1, 3]), [np.array([0, 1, 2])], seed=0)
    assert sorted(shares[0].tolist()) == [2, 4]  # one class-0 and one class-1 text were left
    (nothing,) = validation_shares(pool, np.arange(5), [np.arange(5)], seed=0)
    assert nothing.size == 0


def test_the_learned_prompt_must_beat_every_control_to_be_chosen():
    assert choose({LEARNED: 0.8, "empty": 0.5, "manual": 0.7}) == LEARNED
    assert choose({LEARNED: 0.7, "empty": 0.5, "manual": 0.7}) == "manual"
    assert choose({LEARNED: 0.4, "empty": 0.6, "manual": 0.6}) == "empty"


def test_a_model_with_nothing_to_validate_on_keeps_what_it_learned():
    nothing = validation_accuracy(lambda x, y: y, [([], np.array([], dtype=int), 2)])
    assert np.isnan(nothing)
    assert choose({LEARNED: nothing, "empty": nothing, "manual": nothing}) == LEARNED


def test_a_control_that_could_not_be_validated_never_wins():
    assert choose({LEARNED: 0.3, "zero_shot": float("nan")}) == LEARNED
    assert choose({LEARNED: 0.3, "empty": float("nan"), "manual": 0.5}) == "manual"


def test_a_spent_budget_leaves_validation_unscored_rather_than_failing_the_run():
    def spent(x, y):
        raise BudgetExceededError("API budget spent")

    assert np.isnan(validation_accuracy(spent, [(["a"], np.array([0]), 1)]))


def test_holder_groups_follow_who_owns_each_model():
    held, parts = [np.array([5, 6]), np.array([7])], [np.arange(3), np.arange(3, 4)]
    assert len(holder_groups("local_only", held, parts)) == 2
    ((own, weight),) = holder_groups("local_only", held, parts)[1]
    assert own.tolist() == [7] and weight == 1
    (federated,) = holder_groups("fedbbpt", held, parts)
    assert [(v.tolist(), w) for v, w in federated] == [([5, 6], 3), ([7], 1)]
    for method in ("centralized", "whitebox"):
        ((pooled, weight),) = holder_groups(method, held, parts)[0]
        assert pooled.tolist() == [5, 6, 7] and weight == 4


def test_search_steps_keeps_the_best_scored_step_and_skips_unscored_ones():
    scores = {0.1: [0.5, float("nan")], 0.3: [float("nan")], 1.0: [0.6, 0.8]}
    trained = []

    def train(step):
        trained.append(step)
        return {"models": [step]}

    best, run, per_step = search_steps(list(scores), train, lambda models, s: scores[s])
    assert trained == [0.1, 0.3, 1.0] and best == 1.0 and run["models"] == [1.0]
    assert per_step[0.1] == 0.5 and np.isnan(per_step[0.3]) and per_step[1.0] == 0.7
    chosen, table = pick(run["validation"], {"zero_shot": [0.7, 0.7]})
    assert chosen == ["zero_shot", LEARNED]
    assert table[1] == {LEARNED: 0.8, "zero_shot": 0.7}


def test_validation_accuracy_weights_holders_as_fedavg_does():
    holders = [(["a", "b"], np.array([0, 1]), 3), (["c"], np.array([1]), 1), ([], np.array([]), 5)]
    always_one = validation_accuracy(lambda x, y: np.ones(len(x), dtype=int), holders)
    assert always_one == pytest.approx((3 * 0.5 + 1 * 1.0) / 4, abs=1e-4)


def test_step_candidates_and_their_checkpoints():
    assert step_candidates(0.1, 0.25) == [0.25]
    assert step_candidates(0.1, None) == pytest.approx([0.1 * m for m in STEP_MULTIPLIERS])
    assert step_checkpoint(None, 0.3, None) is None
    assert step_checkpoint("run.safetensors", 0.3, 0.3) == "run.safetensors"
    assert step_checkpoint("d/run.safetensors", 0.03, None) == Path("d/run-step0.03.safetensors")


def test_without_a_step_size_a_run_keeps_the_candidate_best_on_validation():
    news = load_text("bbc_news")
    small = TextExperiment(prompt="probe", clients=2, rounds=1, shots=2, batch_size=4)
    result = run_experiment(small, news)
    scores = result["step_size_scores"]
    assert list(scores) == step_candidates(STEP_SIZES["probe"], None)
    assert result["step_size"] == max(scores, key=scores.get)
    assert scores[result["step_size"]] == result["validation_accuracy"][0][LEARNED]
