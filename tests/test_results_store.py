"""The resumable results store and the text table's summary arithmetic."""

import json

import pytest

from fedbbpt_lite.results_store import ResultStore


def test_rows_survive_a_reopen_and_are_found_by_key(tmp_path):
    store = ResultStore(tmp_path / "runs.jsonl", ("name", "seed"))
    store.append({"name": "a", "seed": 0, "accuracy": 0.5})
    store.append({"name": "a", "seed": 1, "accuracy": 0.6})
    again = ResultStore(tmp_path / "runs.jsonl", ("name", "seed"))
    assert ("a", 1) in again and ("a", 2) not in again
    assert again.rows[("a", 0)]["accuracy"] == 0.5


def test_a_line_cut_off_by_a_kill_is_ignored_then_replaced(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"name": "a", "seed": 0}) + '\n{"name": "a", "se')
    store = ResultStore(path, ("name", "seed"))
    assert list(store.rows) == [("a", 0)]
    store.append({"name": "a", "seed": 1})
    lines = path.read_text().splitlines()
    assert [json.loads(line)["seed"] for line in lines] == [0, 1]
    assert len(ResultStore(path, ("name", "seed")).rows) == 2


def test_a_broken_line_before_the_end_is_an_error_not_a_silent_loss(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('garbage\n{"name": "a", "seed": 0}\n')
    with pytest.raises(ValueError, match="line 1"):
        ResultStore(path, ("name", "seed"))


def test_rows_without_the_key_fields_are_refused(tmp_path):
    store = ResultStore(tmp_path / "runs.jsonl", ("name", "seed"))
    with pytest.raises(ValueError, match="seed"):
        store.append({"name": "a"})
    assert not (tmp_path / "runs.jsonl").exists()


def test_reading_a_missing_results_file_names_it_instead_of_giving_no_rows(tmp_path):
    from fedbbpt_lite.results_store import read_rows

    with pytest.raises(FileNotFoundError, match="nothing.jsonl"):
        read_rows(tmp_path / "nothing.jsonl")
    assert read_rows(tmp_path / "nothing.jsonl", missing_ok=True) == []
