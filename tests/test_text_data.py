"""The committed text suite: checksums, sizes, balance, no test text in the pool, the loader."""

import numpy as np
import pytest

import fedbbpt_lite as fbl
from fedbbpt_lite.datasets.text_sets import verify_text_checksums


@pytest.fixture(scope="module")
def bbc():
    return fbl.datasets.load_text("bbc_news")


def test_committed_text_files_match_their_checksums():
    assert verify_text_checksums() == {name: True for name in fbl.datasets.text_dataset_names()}


def test_bbc_news_has_a_balanced_test_set_and_pool_as_the_manifest_says(bbc):
    info = fbl.datasets.text_dataset_info("bbc_news")
    assert len(bbc.test_texts) == info["test"] == 500 and len(bbc.train_texts) == info["pool"]
    assert np.bincount(bbc.y_test).tolist() == [100] * 5
    assert np.bincount(bbc.y_train).tolist() == [200] * 5
    assert bbc.class_names == ("business", "entertainment", "politics", "sport", "technology")
    assert bbc.y_train.dtype == np.int64 and len(bbc.y_train) == len(bbc.train_texts)


def test_no_text_appears_twice_so_no_test_text_leaks_into_the_pool(bbc):
    texts = bbc.train_texts + bbc.test_texts
    assert len(set(texts)) == len(texts)


def test_texts_are_cut_to_the_stated_number_of_words(bbc):
    words = fbl.datasets.text_dataset_info("bbc_news")["words"]
    lengths = [len(text.split()) for text in bbc.train_texts + bbc.test_texts]
    assert max(lengths) == words and min(lengths) > 10


def test_labels_follow_the_topics(bbc):
    sport = [t for t, y in zip(bbc.test_texts, bbc.y_test, strict=True) if y == 3]
    hits = sum(any(w in t.lower() for w in ("match", "cup", "coach", "win")) for t in sport)
    assert hits > 50, "the sport class should read like sport"


def test_prompts_fill_the_template_with_each_class_name(bbc):
    assert bbc.prompts[3] == "This news article is about sport."


def test_an_unknown_text_data_set_is_refused_with_the_names():
    with pytest.raises(ValueError, match="bbc_news"):
        fbl.datasets.load_text("imdb")
