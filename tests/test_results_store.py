"""The resumable results store and the text table's summary arithmetic."""

import json

import pytest
from script_loader import load_script

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


@pytest.fixture(scope="module")
def table():
    return load_script("text_table")


def test_the_text_table_compares_the_best_federated_method_with_the_best_control(table, capsys):
    accuracies = {
        ("centralized", "iid"): 0.84,
        ("fedbbpt", "iid"): 0.83,
        ("fedbbpt", "dirichlet"): 0.81,
        ("local_only", "dirichlet"): 0.78,
    }
    rows = []
    for seed, noise in ((0, -0.01), (1, 0.01)):
        controls = {"empty": 0.79, "manual": 0.80 + noise, "random": 0.70}
        for prompt, shift in (("bdpl", -0.05), ("soft_cma", 0.0)):
            for (method, partition), accuracy in accuracies.items():
                rows.append(
                    {
                        "phase": "test",
                        "dataset": "news",
                        "prompt": prompt,
                        "method": method,
                        "partition": partition,
                        "seed": seed,
                        "accuracy": accuracy + shift + noise,
                        # bdpl "learned" worse prompts and returned the manual one instead
                        "learned_accuracy": accuracy + shift + noise - (prompt == "bdpl") * 0.1,
                        "selected": ["manual" if prompt == "bdpl" else "learned"],
                        "controls": controls,
                        "api_calls": 500,
                        "examples_sent": 90,
                        "saved_examples": 10,
                        "saved_calls": 1,
                    }
                )
    table.print_table(rows, ["news"], ["bdpl", "soft_cma"])
    out = capsys.readouterr().out
    assert "manual prompt 80.0 ± 1.0" in out
    assert "| soft_cma | 84.0 ± 1.0 | 83.0 ± 1.0 | 81.0 ± 1.0 | 78.0 ± 1.0 | 500 |" in out
    assert "best control: manual prompt 80.0" in out
    assert "best federated prompt method: soft_cma 83.0 (+3.0 points)" in out
    assert "soft_cma: federated minus centralised (IID) -1.0" in out
    assert "federated minus local-only (Dirichlet 0.5) +3.0" in out
    assert "query cache: 160 of 1600 training examples answered from the cache (10.0%)" in out
    returned, learned = out.split("of the prompt runs learned")
    assert "| bdpl | 79.0 ± 1.0 |" in returned and "| bdpl | 69.0 ± 1.0 |" in learned
    assert "| soft_cma | 84.0 ± 1.0 |" in learned
    assert "8 of 16 runs returned a control" in out
    assert "bdpl centralized iid seed 0: ['manual']" in out


def test_reading_a_missing_results_file_names_it_instead_of_giving_no_rows(tmp_path):
    from fedbbpt_lite.results_store import read_rows

    with pytest.raises(FileNotFoundError, match="nothing.jsonl"):
        read_rows(tmp_path / "nothing.jsonl")
    assert read_rows(tmp_path / "nothing.jsonl", missing_ok=True) == []
