"""Tests for step-size selection: the validation split, the candidates, and that selection
never looks at the test set."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from fedbbpt_lite.datasets import load_vision
from fedbbpt_lite.datasets.text_sets import load_text
from fedbbpt_lite.tasks.selection import STEP_MULTIPLIERS
from fedbbpt_lite.tasks.step_size import candidates, select_step_size, validation_split
from fedbbpt_lite.tasks.text_experiment import STEP_SIZES as TEXT_STEPS
from fedbbpt_lite.tasks.text_experiment import TextExperiment
from fedbbpt_lite.tasks.vision_experiment import STEP_SIZES, WHITEBOX_LR, VisionExperiment

TINY = VisionExperiment(
    dataset="mnist_inverted", clients=2, rounds=1, local_steps=1, batch_size=8, shots=2
)


@pytest.fixture(scope="module")
def inverted():
    return load_vision("mnist_inverted")


def _rows(x: torch.Tensor) -> set[bytes]:
    return {image.numpy().tobytes() for image in x}


def test_validation_split_moves_per_class_pool_images_to_the_test_set(inverted):
    split = validation_split(inverted, 30)
    assert np.bincount(split.y_test.numpy()).tolist() == [30] * 10
    assert len(split.x_train) == len(inverted.x_train) - 300
    assert not _rows(split.x_test) & _rows(split.x_train), "validation images left in the pool"
    assert _rows(split.x_test) <= _rows(inverted.x_train), "validation must come from the pool"
    assert split.class_names == inverted.class_names and split.template == inverted.template


def test_validation_split_is_reproducible_per_seed(inverted):
    first, again = validation_split(inverted, 5, seed=3), validation_split(inverted, 5, seed=3)
    other = validation_split(inverted, 5, seed=4)
    assert torch.equal(first.x_test, again.x_test)
    assert not torch.equal(first.x_test, other.x_test)


@pytest.mark.parametrize(("per_class", "match"), [(100, "would leave none"), (0, "per_class")])
def test_validation_split_rejects_bad_sizes(inverted, per_class, match):
    with pytest.raises(ValueError, match=match):
        validation_split(inverted, per_class)


@pytest.mark.parametrize("generator", ["grid", "coordinator"])
def test_candidates_scale_each_methods_default(generator):
    spsa = candidates(replace(TINY, generator=generator))
    adam = candidates(replace(TINY, generator=generator, method="whitebox"))
    assert spsa == pytest.approx([STEP_SIZES[generator] * m for m in STEP_MULTIPLIERS])
    assert adam == pytest.approx([WHITEBOX_LR[generator] * m for m in STEP_MULTIPLIERS])
    assert STEP_SIZES[generator] in spsa


def test_zero_shot_has_no_step_size_to_select():
    with pytest.raises(ValueError, match="zero_shot"):
        candidates(replace(TINY, method="zero_shot"))


def test_selection_picks_the_best_candidate_without_looking_at_the_test_set(inverted, clip):
    best, scores = select_step_size(TINY, inverted, clip)
    assert list(scores) == candidates(TINY)
    assert scores[best] == max(scores.values())
    # each candidate: its training steps, then zero-shot and learned on 2 clients' validation
    assert clip.meter.calls == len(scores) * (TINY.steps + 2 * 2)
    blanked = replace(inverted, x_test=torch.zeros_like(inverted.x_test))
    assert select_step_size(TINY, blanked, clip) == (best, scores)


# --- text ------------------------------------------------------------------------------------


def test_a_text_validation_split_moves_pool_texts_to_the_test_set():
    news = load_text("bbc_news")
    split = validation_split(news, 20, seed=1)
    assert np.bincount(split.y_test).tolist() == [20] * 5
    assert len(split.train_texts) == len(news.train_texts) - 100
    assert not set(split.test_texts) & set(split.train_texts)
    assert set(split.test_texts) <= set(news.train_texts)
    with pytest.raises(TypeError, match="data"):
        validation_split("bbc_news", 20)


def test_text_selection_scores_candidates_on_pool_texts_only():
    news = load_text("bbc_news")
    tiny = TextExperiment(method="centralized", prompt="probe", clients=2, rounds=1, shots=4)
    assert candidates(tiny) == pytest.approx([TEXT_STEPS["probe"] * m for m in STEP_MULTIPLIERS])
    best, scores = select_step_size(tiny, news, per_class=10)
    assert list(scores) == candidates(tiny) and scores[best] == max(scores.values())
    blanked = replace(news, test_texts=("blank",) * len(news.test_texts))
    assert select_step_size(tiny, blanked, per_class=10) == (best, scores)
