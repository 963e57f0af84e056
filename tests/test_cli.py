"""The `fedbbpt-lite` command: `datasets` as a table, as JSON, with zero-shot scores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fedbbpt_lite.cli import main
from fedbbpt_lite.datasets import dataset_info, dataset_names

ROOT = Path(__file__).resolve().parents[1]
MANIFEST_FIELDS = ("shift", "n_train", "n_test", "bytes", "description", "source")


def test_datasets_table_lists_every_dataset(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["name", "shift"]
    for name in dataset_names():
        row = next((line for line in lines if line.split()[:1] == [name]), None)
        assert row is not None, f"{name} missing from:\n{out}"
        info = dataset_info(name)
        assert row.split()[1:4] == [info["shift"], str(info["n_train"]), str(info["n_test"])]
        assert info["description"] in row
    assert "zero-shot" not in lines[0]


def test_datasets_json_matches_the_manifest(capsys):
    assert main(["datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == dataset_names()
    for row in rows:
        info = dataset_info(row["name"])
        assert {field: row[field] for field in MANIFEST_FIELDS} == {
            field: info[field] for field in MANIFEST_FIELDS
        }
        assert "zero_shot_accuracy" not in row


def test_datasets_zero_shot_json_scores_every_dataset(capsys):
    assert main(["datasets", "--zero-shot", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert list(rows) == dataset_names()
    for name, row in rows.items():
        assert 0.0 <= row["zero_shot_accuracy"] <= 1.0, name
    assert rows["mnist"]["zero_shot_accuracy"] >= 0.95
    # a shifted set should be visibly harder than MiniCLIP's own domain
    assert min(row["zero_shot_accuracy"] for row in rows.values()) < 0.5


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "fedbbpt_lite", "datasets"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for name in dataset_names():
        assert name in result.stdout


@pytest.mark.parametrize("argv", [["no-such-command"], [], ["datasets", "--no-such-flag"]])
def test_bad_arguments_exit_with_code_2(argv, capsys):
    with pytest.raises(SystemExit) as error:
        main(argv)
    assert error.value.code == 2
    assert "usage" in capsys.readouterr().err
