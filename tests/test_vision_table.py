"""The results-table script: it resumes from its JSON-lines file and summarises what the
issue's targets name (share of the white-box gap, differences to centralised and local-only)."""

import json
import sys

import pytest
from script_loader import load_script


@pytest.fixture(scope="module")
def table():
    return load_script("vision_table")


def _row(dataset, method, partition, seed, accuracy):
    return {
        "phase": "test",
        "dataset": dataset,
        "method": method,
        "partition": partition,
        "generator": "grid",
        "seed": seed,
        "learned_accuracy": accuracy,
        "accuracy": 0.99,  # what a run returned: the table compares what was learned
    }


def test_summary_reports_the_gap_share_over_fixable_data_sets_only(table, capsys):
    accuracies = {
        ("zero_shot", "iid"): 0.2,
        ("centralized", "iid"): 0.7,
        ("fedbbpt", "iid"): 0.6,
        ("fedbbpt", "dirichlet"): 0.5,
        ("local_only", "dirichlet"): 0.3,
        ("whitebox", "iid"): 0.8,
    }
    done = {}
    for (method, partition), accuracy in accuracies.items():
        for seed, noise in ((0, -0.01), (1, 0.01)):
            row = _row("shifted", method, partition, seed, accuracy + noise)
            done[table.key(row)] = row
        # a data set white-box cannot improve: left out of the averages
        row = _row("hard", method, partition, 0, 0.1)
        done[table.key(row)] = row
    table.print_table(done, ["shifted", "hard"], "grid", table.RUNS)
    out = capsys.readouterr().out
    assert "| shifted | 20.0 ± 1.0 | 70.0 ± 1.0 | 60.0 ± 1.0 |" in out
    assert "fixable data sets (white-box gains >= 5 points): ['shifted']" in out
    assert "gap, mean: +66.7%" in out  # (0.6 - 0.2) / (0.8 - 0.2)
    assert "Fed-BBPT (IID) minus centralised, points: -10.0" in out
    assert "Fed-BBPT (Dirichlet 0.5) minus local-only, points: +20.0" in out


def test_an_interrupted_table_resumes_without_rerunning_finished_rows(table, tmp_path, monkeypatch):
    out = tmp_path / "rows.jsonl"
    argv = ["vision_table.py", "--out", str(out), "--seeds", "0", "1"]
    argv += ["--datasets", "mnist_inverted", "--runs", "zero_shot:iid"]
    monkeypatch.setattr(sys, "argv", argv)
    table.main()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["phase"], r["seed"]) for r in rows] == [("test", 0), ("test", 1)]
    assert all(r["learned_accuracy"] == 0.315 and r["seconds"] >= 0 for r in rows)
    table.main()
    assert len(out.read_text().splitlines()) == 2, "finished rows must not run again"
