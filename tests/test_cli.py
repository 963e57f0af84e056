"""The `fedbbpt-lite` command: `datasets` as a table, as JSON, with zero-shot scores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_data import write_tiny_npz

from fedbbpt_lite import cli
from fedbbpt_lite.blackbox import Budget, MiniCLIPBlackBox
from fedbbpt_lite.cli import main
from fedbbpt_lite.datasets import dataset_info, dataset_names
from fedbbpt_lite.datasets.text_sets import load_text_file, text_dataset_names

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
    assert [row["name"] for row in rows] == dataset_names() + text_dataset_names()
    assert {row["task"] for row in rows} == {"vision", "text"}
    for row in rows[: len(dataset_names())]:
        info = dataset_info(row["name"])
        assert {field: row[field] for field in MANIFEST_FIELDS} == {
            field: info[field] for field in MANIFEST_FIELDS
        }
        assert "zero_shot_accuracy" not in row


def test_datasets_zero_shot_json_scores_every_dataset(capsys):
    assert main(["datasets", "--zero-shot", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert list(rows) == dataset_names() + text_dataset_names()
    assert 0.7 <= rows["bbc_news"]["zero_shot_accuracy"] <= 0.9
    rows = {name: rows[name] for name in dataset_names()}
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


# --- `run` ------------------------------------------------------------------------------

TINY_RUN = ["--clients", "2", "--rounds", "2", "--local-steps", "1", "--shots", "2"]
TINY_RUN += ["--batch-size", "8"]


def _json_result(capsys) -> dict:
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1, f"expected one JSON line, got:\n{out}"
    return json.loads(out)


def test_run_zero_shot_prints_one_json_object(capsys):
    assert main(["run", "--method", "zero_shot", "--json"]) == 0
    result = _json_result(capsys)
    assert {"accuracy", "zero_shot_accuracy", "api_calls", "rounds"} <= set(result)
    assert result["method"] == "zero_shot" and result["dataset"] == "mnist_inverted"
    assert result["api_calls"] == 0
    assert result["accuracy"] == result["zero_shot_accuracy"]
    assert 0.0 <= result["accuracy"] <= 1.0


def test_run_fedbbpt_spends_rounds_times_clients_times_local_steps(capsys):
    argv = ["run", "--method", "fedbbpt", "--clients", "2", "--rounds", "2", "--local-steps", "2"]
    argv += ["--shots", "2", "--batch-size", "8", "--step-size", "0.1", "--json"]
    assert main(argv) == 0
    result = _json_result(capsys)
    assert (result["rounds"], result["clients"], result["local_steps"]) == (2, 2, 2)
    assert result["api_calls"] == 2 * 2 * 2 + 2 * 2, "and validation: 2 prompts on 2 clients"
    assert len(result["accuracy_per_round"]) == 3
    assert result["accuracy_per_round"][-1] == result["learned_accuracy"]


def test_run_says_when_the_budget_left_nothing_to_validate_what_it_returns(monkeypatch, capsys):
    # 2 calls: the first round of training, then nothing left to validate with
    spent = MiniCLIPBlackBox(budget=Budget(max_calls=2))
    real = cli.run_experiment
    monkeypatch.setattr(
        cli, "run_experiment", lambda e, d, checkpoint=None: real(e, d, spent, checkpoint)
    )
    assert main(["run", "--method", "fedbbpt", *TINY_RUN, "--step-size", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "validation          learned nan, zero_shot nan" in out
    assert "returned            the learned prompt, unvalidated" in out


def test_run_passes_every_setting_through(capsys):
    argv = ["run", "--method", "centralized", "--dataset", "mnist", "--generator", "padding"]
    argv += [*TINY_RUN, "--partition", "dirichlet", "--alpha", "2.0", "--seed", "3"]
    argv += [
        "--step-size",
        "0.05",
        "--server-learning-rate",
        "0.5",
        "--fraction-fit",
        "0.5",
        "--json",
    ]
    assert main(argv) == 0
    result = _json_result(capsys)
    expected = {
        "dataset": "mnist",
        "method": "centralized",
        "generator": "padding",
        "clients": 2,
        "rounds": 2,
        "local_steps": 1,
        "shots": 2,
        "batch_size": 8,
        "partition": "dirichlet",
        "alpha": 2.0,
        "seed": 3,
        "step_size": 0.05,
        "server_learning_rate": 0.5,
        "fraction_fit": 0.5,
    }
    assert {key: result[key] for key in expected} == expected
    # fraction_fit 0.5 of 2 clients: 1 a round; then zero-shot and learned on the pooled
    # validation images
    assert result["api_calls"] == 2 * 1 * 1 + 2


def test_run_on_a_users_file(tmp_path, capsys):
    path = write_tiny_npz(tmp_path / "pets.npz")
    argv = ["run", "--data", str(path), "--method", "zero_shot", "--template", "a {} photo"]
    assert main([*argv, *TINY_RUN, "--json"]) == 0
    result = _json_result(capsys)
    assert result["dataset"] == "pets" and result["api_calls"] == 0
    assert 0.0 <= result["accuracy"] <= 1.0


def test_run_prints_a_readable_summary(tmp_path, capsys):
    path = write_tiny_npz(tmp_path / "pets.npz")
    assert main(["run", "--data", str(path), "--method", "zero_shot", *TINY_RUN]) == 0
    out = capsys.readouterr().out
    assert out.startswith("zero_shot on pets (grid prompt, 2 clients, iid partition, seed 0)")
    assert "zero-shot accuracy" in out and "API calls           0 (0 examples)" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_test": None}, r"lacks the arrays \['y_test'\]"),
        ({"y_train": np.array([0, 1, 2, 0, 1, 0, 1, 0])}, "y_train labels must lie in 0..1"),
        ({"x_test": np.full((6, 28, 28), 2.0)}, "x_test must be uint8 pixels or floats"),
    ],
    ids=["missing-array", "label-range", "float-range"],
)
def test_run_on_a_malformed_file_exits_2_naming_the_problem(tmp_path, capsys, overrides, message):
    path = write_tiny_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(SystemExit) as error:
        main(["run", "--data", str(path), "--method", "zero_shot", *TINY_RUN])
    assert error.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("fedbbpt-lite run: error:") and message.replace("\\", "") in err
    assert "Traceback" not in err


def test_run_on_a_missing_file_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        main(["run", "--data", str(tmp_path / "nowhere.npz")])
    assert error.value.code == 2
    assert "nowhere.npz" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, value, name",
    [
        ("--clients", "0", "clients"),
        ("--rounds", "0", "rounds"),
        ("--local-steps", "0", "local_steps"),
        ("--shots", "-2", "shots"),
        ("--alpha", "0", "alpha"),
        ("--fraction-fit", "0", "fraction_fit"),
        ("--step-size", "-1", "step_size"),
        ("--seed", "-1", "seed"),
        ("--clients", "two", "--clients"),
        ("--method", "adam", "method must be one of"),
        ("--generator", "pixels", "generator must be one of"),
        ("--dataset", "imagenet", "--dataset"),
    ],
)
def test_run_with_a_bad_value_exits_2_naming_the_argument(capsys, flag, value, name):
    with pytest.raises(SystemExit) as error:
        main(["run", "--method", "zero_shot", flag, value])
    assert error.value.code == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err


def test_run_refuses_both_dataset_and_data(tmp_path, capsys):
    path = write_tiny_npz(tmp_path / "pets.npz")
    with pytest.raises(SystemExit) as error:
        main(["run", "--dataset", "mnist", "--data", str(path)])
    assert error.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_run_with_a_template_without_a_slot_exits_2(tmp_path, capsys):
    path = write_tiny_npz(tmp_path / "pets.npz")
    with pytest.raises(SystemExit) as error:
        main(["run", "--data", str(path), "--template", "a photo", "--method", "zero_shot"])
    assert error.value.code == 2
    assert "template must contain '{}'" in capsys.readouterr().err


# --- `run --task text` --------------------------------------------------------------------

TINY_TEXT = ["--task", "text", "--clients", "2", "--rounds", "1", "--local-calls", "10"]
TINY_TEXT += ["--shots", "2", "--batch-size", "4", "--candidates", "10", "--prompt-length", "2"]


def write_texts(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


SPORT = ["The striker scored twice.", "A late goal won the cup.", "The team won the final."]
SPORT += ["Rain stopped the test match.", "She won the marathon."]
MONEY = ["Shares fell sharply.", "The bank raised rates.", "Profits doubled this year."]
MONEY += ["The firm cut jobs.", "Oil prices rose again."]


def test_run_text_on_a_users_jsonl_file(tmp_path, capsys):
    rows = [{"text": t, "label": "sport"} for t in SPORT]
    rows += [{"text": t, "label": "money"} for t in MONEY]
    path = write_texts(tmp_path / "mini.jsonl", rows)
    argv = ["run", *TINY_TEXT, "--data", str(path), "--prompt", "bdpl", "--method", "centralized"]
    argv += ["--manual-prompt", "Topic:", "--json"]
    assert main(argv) == 0
    result = _json_result(capsys)
    assert result["task"] == "text" and result["dataset"] == "mini"
    # no --step-size: five step sizes are trained and the best on validation is kept; each is
    # validated once, and the three controls once, on the pooled validation texts
    assert len(result["step_size_scores"]) == 5
    assert result["api_calls"] == 5 * 2 * 10 + 5 + 3
    assert len(result["learned_prompts"][0].split()) == 2
    assert set(result["controls"]) == {"empty", "manual", "random"}
    assert set(result["validation_accuracy"][0]) == {"learned", "empty", "manual", "random"}


def test_run_text_on_a_csv_file_prints_a_summary_with_the_controls(tmp_path, capsys):
    lines = ["text,label,split"] + [
        f'"{t}",sport,{"test" if i > 2 else "train"}' for i, t in enumerate(SPORT)
    ]
    lines += [f'"{t}",money,{"test" if i > 2 else "train"}' for i, t in enumerate(MONEY)]
    path = tmp_path / "mini.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["run", *TINY_TEXT, "--data", str(path), "--prompt", "probe"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fedbbpt on mini (probe prompt, 2 clients, iid partition, seed 0)")
    for name in ("empty", "manual", "random"):
        assert f"{name} prompt" in out
    assert "validation          learned" in out and "returned            the " in out


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('{"text": "a", "label": "x"}\nnot json\n', ".jsonl", "line 2 is not JSON"),
        ('{"text": "a"}\n', ".jsonl", "needs a non-empty 'label'"),
        ("[1, 2]\n", ".jsonl", "must be a JSON object"),
        ("text,label\nhello,x\nworld,x\n", ".csv", "at least two classes"),
        ("words,label\nhello,x\n", ".csv", "needs a non-empty 'text'"),
        ('{"text": "a", "label": "x", "split": "dev"}\n', ".jsonl", "split must be"),
        ("", ".jsonl", "holds no records"),
        ("text,label\n", ".txt", ".jsonl or .csv"),
    ],
)
def test_run_text_on_a_malformed_file_exits_2_naming_the_problem(
    tmp_path, capsys, content, suffix, message
):
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(SystemExit) as error:
        main(["run", *TINY_TEXT, "--data", str(path)])
    assert error.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("fedbbpt-lite run: error:") and message in err, err


def test_a_csv_that_is_not_utf8_is_refused_naming_the_file(tmp_path, capsys):
    path = tmp_path / "reviews.csv"
    path.write_bytes("text,label\nun film très réussi,pos\nraté,neg\n".encode("latin-1"))
    with pytest.raises(SystemExit) as error:
        main(["run", *TINY_TEXT, "--data", str(path)])
    err = capsys.readouterr().err
    assert error.value.code == 2 and "reviews.csv is not UTF-8" in err, err


def test_a_user_file_without_a_test_split_holds_out_a_fraction_of_each_class(tmp_path):
    rows = [{"text": t, "label": "sport"} for t in SPORT * 2]
    rows += [{"text": t, "label": "money"} for t in MONEY * 2]
    data = load_text_file(write_texts(tmp_path / "mini.jsonl", rows), manual_prompt="Topic:")
    assert data.class_names == ("money", "sport") and data.manual_prompt == "Topic:"
    assert len(data.test_texts) == 6 and len(data.train_texts) == 14
    assert sorted(np.bincount(data.y_test)) == [3, 3]
    with pytest.raises(ValueError, match="test_fraction"):
        load_text_file(tmp_path / "mini.jsonl", test_fraction=1.0)
    with pytest.raises(ValueError, match="template"):
        load_text_file(tmp_path / "mini.jsonl", template="no field")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "text", "--generator", "grid"], "--generator applies to --task vision"),
        (["--prompt", "bdpl"], "--prompt applies to --task text"),
        (["--task", "text", "--dataset", "mnist"], "vision data set"),
        (["--dataset", "bbc_news"], "add --task text"),
        (["--task", "text", "--method", "whitebox"], "method must be one of"),
        (["--task", "text", "--local-calls", "0"], "local_calls"),
        (["--blackbox", "smollm2"], "'smollm2' is a text API"),
        (["--task", "text", "--blackbox", "smollm2", "--prompt", "probe"], "embedding API"),
    ],
)
def test_run_text_with_mismatched_flags_exits_2(capsys, argv, message):
    with pytest.raises(SystemExit) as error:
        main(["run", *argv])
    assert error.value.code == 2
    assert message in capsys.readouterr().err
