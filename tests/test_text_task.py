"""The embedding black box (all-MiniLM-L6-v2 behind the API boundary) and text classification
by nearest label description, with a prompt prepended."""

import numpy as np
import pytest

import fedbbpt_lite as fbl
from fedbbpt_lite.blackbox import Budget, BudgetExceededError, EmbeddingBlackBox
from fedbbpt_lite.tasks.text import class_logits, text_accuracy, with_prompt

TEXTS = ["The striker scored twice in the cup final.", "Shares fell after the profit warning."]
CLASSES = ["This news article is about sport.", "This news article is about business."]


@pytest.fixture(scope="module")
def api_shared():
    return EmbeddingBlackBox()


@pytest.fixture
def api(api_shared):
    api_shared.meter.reset()
    return api_shared


def test_query_returns_unit_norm_embeddings_as_a_numpy_copy(api):
    out = api.query(TEXTS)
    assert isinstance(out, np.ndarray) and out.shape == (2, 384)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    out[:] = 0  # a copy: changing it changes nothing inside the API
    assert np.abs(api.query(TEXTS)).sum() > 0


def test_every_text_is_billed_and_each_query_is_one_call(api):
    api.query(TEXTS)
    api.query(TEXTS[:1])
    assert api.meter.calls == 2 and api.meter.examples == 3


@pytest.mark.parametrize(
    ("texts", "error", "match"),
    [
        ("one text", TypeError, "list of strings"),
        ([], ValueError, "non-empty"),
        (["fine", "  "], ValueError, "non-blank"),
        (["fine", 3], ValueError, "strings"),
    ],
)
def test_bad_queries_are_refused_before_billing(api, texts, error, match):
    with pytest.raises(error, match=match):
        api.query(texts)
    assert api.meter.calls == 0


def test_extra_query_arguments_and_other_output_modes_are_refused(api):
    with pytest.raises(TypeError, match="soft_prompt"):
        api.query(TEXTS, CLASSES)
    with pytest.raises(ValueError, match="output"):
        EmbeddingBlackBox(output="logits")


def test_the_budget_applies_to_texts(api_shared):
    limited = EmbeddingBlackBox(budget=Budget(max_examples=3))
    limited.query(TEXTS)
    with pytest.raises(BudgetExceededError):
        limited.query(TEXTS)
    assert limited.meter.examples == 2


def test_with_prompt_prepends_normalised_words():
    assert with_prompt("  News   topic: ", ["a", "b"]) == ["News topic: a", "News topic: b"]
    assert with_prompt("", ["a"]) == ["a"]
    with pytest.raises(TypeError, match="prompt"):
        with_prompt(None, ["a"])


def test_class_logits_score_every_text_against_every_class_in_one_call(api):
    logits = class_logits(api, TEXTS, CLASSES)
    assert logits.shape == (2, 2) and api.meter.calls == 1 and api.meter.examples == 4
    assert logits.argmax(1).tolist() == [0, 1], "sport reads as sport, shares as business"
    # the same numbers by hand from the raw embeddings
    embeddings = api.query(CLASSES + TEXTS)
    assert np.allclose(logits, 100 * embeddings[2:] @ embeddings[:2].T, atol=1e-4)


def test_a_prompt_changes_what_the_api_sees(api):
    plain = class_logits(api, TEXTS, CLASSES)
    prompted = class_logits(api, TEXTS, CLASSES, prompt="weather report")
    assert not np.allclose(plain, prompted)


def test_class_logits_need_at_least_two_classes(api):
    with pytest.raises(ValueError, match="class_prompts"):
        class_logits(api, TEXTS, CLASSES[:1])


def test_text_accuracy_beats_chance_on_bbc_news_and_checks_labels(api):
    bbc = fbl.datasets.load_text("bbc_news")
    texts, labels = bbc.test_texts[::10], bbc.y_test[::10]  # 50 texts, 10 per topic
    assert text_accuracy(api, texts, labels, bbc.prompts) >= 0.6  # chance is 0.2
    with pytest.raises(ValueError, match="labels"):
        text_accuracy(api, texts, labels[:-1], bbc.prompts)


# ------------------------------------------------------------------ the query cache


@pytest.fixture
def cached():
    return EmbeddingBlackBox(cache=True)


def test_without_a_cache_every_repeat_is_billed(api):
    api.query(TEXTS)
    api.query(TEXTS)
    assert (api.meter.calls, api.meter.examples, api.meter.saved_examples) == (2, 4, 0)


def test_a_repeated_query_is_answered_from_the_cache_without_a_call(cached, api):
    first = cached.query(TEXTS)
    again = cached.query(TEXTS)
    assert np.array_equal(first, again)
    assert np.array_equal(first, api.query(TEXTS)), "the cache never changes an answer"
    meter = cached.meter
    assert (meter.calls, meter.examples, meter.saved_calls, meter.saved_examples) == (1, 2, 1, 2)


def test_only_new_texts_are_sent_and_billed_once_each(cached, api):
    cached.query(["a", "b"])
    mixed = cached.query(["b", "c", "c", "a"])
    meter = cached.meter
    assert (meter.calls, meter.examples) == (2, 3), "only 'c' was new, and sent once"
    assert (meter.saved_calls, meter.saved_examples) == (0, 3)
    assert np.allclose(mixed, api.query(["b", "c", "c", "a"]), atol=1e-6)
    assert np.array_equal(mixed[1], mixed[2])


def test_cached_answers_cost_nothing_against_the_budget():
    limited = EmbeddingBlackBox(cache=True, budget=Budget(max_calls=1))
    limited.query(TEXTS)
    limited.query(TEXTS)  # fully cached: no call, so within the budget
    with pytest.raises(BudgetExceededError):
        limited.query(["something new"])


def test_a_failed_call_leaves_nothing_in_the_cache():
    flaky = EmbeddingBlackBox(cache=True, fault_rate=0.5, fault_seed=2)  # first call fails
    failures = 0
    while True:
        try:
            flaky.query(TEXTS)
            break
        except fbl.blackbox.TransientAPIError:
            failures += 1
    assert failures >= 1 and flaky.meter.failed_calls == failures
    assert (flaky.meter.calls, flaky.meter.examples, flaky.meter.saved_examples) == (1, 2, 0)


def test_black_boxes_that_cannot_key_their_examples_refuse_a_cache():
    with pytest.raises(ValueError, match="cache"):
        fbl.blackbox.MiniCLIPBlackBox(cache=True)
