"""The benchmark sweep: specs and their errors, the grid of runs, the resumable store (with a
real interrupted process), the summary and report, and the command line."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from fedbbpt_lite import sweep
from fedbbpt_lite.cli import main
from fedbbpt_lite.datasets.text_sets import load_text, text_dataset_names
from fedbbpt_lite.datasets.vision_sets import dataset_names
from fedbbpt_lite.results_store import read_rows
from fedbbpt_lite.run_claims import CLAIMS_DIR
from fedbbpt_lite.tasks import text_experiment, vision_experiment
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.text_experiment import TextExperiment, text_api
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment

TINY_VISION = {"rounds": 1, "local_steps": 1, "batch_size": 8, "shots": 2}
TINY = sweep.SweepSpec(
    datasets=("mnist",),
    methods=("zero_shot", "fedbbpt"),
    partitions=("iid",),
    clients=(2,),
    seeds=(0, 1),
    vision=TINY_VISION,
)


# ----------------------------------------------------------------------------- specs


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"datasets": ("imagenet",)}, "datasets"),
        ({"datasets": ()}, "datasets"),
        ({"datasets": "mnist"}, "datasets"),
        ({"methods": ("bbt",)}, "methods"),
        ({"generators": ("mask",)}, "generators"),
        ({"prompts": ("manual",)}, "prompts"),
        ({"partitions": ("by_writer",)}, "partitions"),
        ({"alphas": (0.0,)}, "alphas"),
        ({"clients": (0,)}, "clients"),
        ({"seeds": (-1,)}, "seeds"),
        ({"vision": {"seed": 3}}, "seed"),
        ({"vision": {"local_calls": 3}}, "local_calls"),
        ({"text": []}, "text"),
        ({"methods": ("whitebox",), "datasets": ("bbc_news",)}, "none of its data sets"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field(changes, name):
    with pytest.raises((TypeError, ValueError), match=name):
        replace(TINY, **changes)


def test_a_bad_experiment_setting_in_a_spec_names_the_setting():
    with pytest.raises(ValueError, match="rounds"):
        replace(TINY, vision={"rounds": 0})


def test_a_spec_file_loads_from_yaml_and_json_alike(tmp_path):
    fields = {"datasets": ["mnist"], "methods": ["zero_shot"], "seeds": [0, 1], "vision": {}}
    (tmp_path / "spec.json").write_text(json.dumps(fields))
    (tmp_path / "spec.yaml").write_text(
        "datasets: [mnist]\nmethods: [zero_shot]\nseeds: [0, 1]\nvision: {}\n"
    )
    from_json = sweep.load_spec(tmp_path / "spec.json")
    assert from_json == sweep.load_spec(str(tmp_path / "spec.yaml"))
    assert from_json.seeds == (0, 1) and from_json.datasets == ("mnist",)
    assert sweep.load_spec("quick") == sweep.load_spec(sweep.SPECS / "quick.yaml")
    assert {"quick", "full", "paper", "demo"} <= set(sweep.spec_names())


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("spec.txt", "datasets: [mnist]", r"\.yaml, \.yml or \.json"),
        ("spec.yaml", "datasets: [mnist", "does not parse"),
        ("spec.json", "{not json", "does not parse"),
        ("spec.yaml", "- mnist", "mapping"),
        ("spec.yaml", "datasets: [mnist]\nrounds: 3", "unknown fields"),
        ("spec.yaml", "methods: [fedbbpt]", "must list datasets"),
    ],
)
def test_a_malformed_spec_file_is_refused_naming_the_file(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=message):
        sweep.load_spec(tmp_path / name)


def test_an_unknown_preset_or_missing_file_is_refused():
    with pytest.raises(ValueError, match="one of the kit's"):
        sweep.load_spec("quik")


# ----------------------------------------------------------------------------- the grid


def test_partition_free_methods_run_once_and_dirichlet_once_per_alpha():
    spec = replace(
        TINY,
        methods=("zero_shot", "centralized", "fedbbpt"),
        partitions=("iid", "dirichlet"),
        alphas=(0.1, 1.0),
        seeds=(0,),
    )
    runs = [(e.method, e.partition, e.alpha) for e in sweep.experiments(spec)]
    assert runs == [
        ("zero_shot", "iid", 0.5),
        ("centralized", "iid", 0.5),
        ("fedbbpt", "iid", 0.5),
        ("fedbbpt", "dirichlet", 0.1),
        ("fedbbpt", "dirichlet", 1.0),
    ]


def test_methods_go_only_to_the_tasks_that_have_them():
    spec = replace(TINY, datasets=("mnist", "bbc_news"), methods=("whitebox", "local_only"))
    kinds = {(type(e).__name__, e.method) for e in sweep.experiments(spec)}
    assert kinds == {
        ("VisionExperiment", "whitebox"),
        ("VisionExperiment", "local_only"),
        ("TextExperiment", "local_only"),
    }


@pytest.mark.parametrize("preset", ["quick", "full"])
def test_presets_cover_every_offline_data_set_with_every_method(preset):
    runs = sweep.experiments(sweep.load_spec(preset))
    for name in dataset_names():
        methods = {e.method for e in runs if e.dataset == name}
        assert methods == set(vision_experiment.METHODS), name
    for name in text_dataset_names():
        mine = [e for e in runs if e.dataset == name]
        assert {e.method for e in mine} == set(text_experiment.TextExperiment.methods)
        assert {e.prompt for e in mine} == set(text_experiment.PROMPTS)
    assert len({sweep.run_id(e) for e in runs}) == len(runs)


def test_a_run_id_changes_with_every_setting_and_only_then():
    base = VisionExperiment()
    assert sweep.run_id(base) == sweep.run_id(VisionExperiment())
    others = [replace(base, seed=1), replace(base, alpha=0.4), replace(base, rounds=3)]
    assert len({sweep.run_id(e) for e in [base, *others]}) == 4
    assert sweep.run_id(TextExperiment()) != sweep.run_id(VisionExperiment())


# ----------------------------------------------------------------------------- running


def test_a_sweep_stores_every_run_and_a_rerun_runs_none(tmp_path, monkeypatch):
    frame = sweep.run_sweep(TINY, tmp_path, progress=False)
    assert len(frame) == 4 and set(frame["method"]) == {"zero_shot", "fedbbpt"}
    stored = (tmp_path / sweep.RUNS_FILE).read_text()

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished run ran again")

    monkeypatch.setattr(sweep, "run_experiment", must_not_run)
    again = sweep.run_sweep(TINY, tmp_path, progress=False)
    assert (tmp_path / sweep.RUNS_FILE).read_text() == stored
    assert again["run_id"].tolist() == frame["run_id"].tolist()


def test_a_cut_off_last_record_is_redone_and_the_rest_kept(tmp_path):
    sweep.run_sweep(TINY, tmp_path, progress=False)
    path = tmp_path / sweep.RUNS_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    frame = sweep.run_sweep(TINY, tmp_path, progress=False)
    assert len(frame) == 4
    assert path.read_text().splitlines(keepends=True)[:-1] == lines[:-1]


def test_the_report_summarises_seeds_as_mean_and_std(tmp_path):
    """summary.csv holds every group's numbers; summary.md is the results tables' layout."""
    frame = sweep.run_sweep(TINY, tmp_path, progress=False)
    table = sweep.summarise(frame)
    fed = frame[frame["method"] == "fedbbpt"]["accuracy"]
    row = table[table["method"] == "fedbbpt"].iloc[0]
    assert row["accuracy_mean"] == pytest.approx(fed.mean(), abs=1e-4)
    assert row["accuracy_std"] == pytest.approx(np.std(fed), abs=1e-4)
    assert row["seeds"] == 2 and row["setting"] == "iid" and row["variant"] == "grid"
    for name in ("summary.csv", "summary.md", "gains_vision.png"):
        assert (tmp_path / name).stat().st_size > 0
    markdown = (tmp_path / "summary.md").read_text().splitlines()
    assert markdown[0].startswith("| data set | variant | zero_shot (iid) | fedbbpt (iid)")
    cell = f"{100 * fed.mean():.1f} ± {100 * np.std(fed):.1f}"
    assert len(markdown) == 3 and cell in markdown[2]


def test_a_text_run_in_a_sweep_matches_the_same_run_alone(tmp_path, monkeypatch):
    data = load_text("bbc_news")
    small = replace(data, test_texts=data.test_texts[::10], y_test=data.y_test[::10])
    monkeypatch.setattr(sweep, "load_text", lambda name: small)
    spec = sweep.SweepSpec(
        datasets=("bbc_news",),
        methods=("fedbbpt",),
        prompts=("probe", "bdpl"),
        partitions=("iid",),
        clients=(2,),
        text={"rounds": 1, "local_calls": 10, "batch_size": 4, "shots": 2, "candidates": 10},
    )
    frame = sweep.run_sweep(spec, tmp_path, progress=False).set_index("prompt")
    for experiment in sweep.experiments(spec):
        alone = run_experiment(experiment, small, text_api("minilm", small, cache=True))
        stored = frame.loc[experiment.prompt]
        assert stored["accuracy"] == alone["accuracy"]
        assert stored["controls"] == alone["controls"]
        assert stored["accuracy_per_round"] == alone["accuracy_per_round"]


def test_out_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="out must be a folder"):
        sweep.run_sweep(TINY, tmp_path / "file", progress=False)


def test_results_of_an_empty_folder_say_how_to_make_them(tmp_path):
    with pytest.raises(ValueError, match="fedbbpt-lite sweep"):
        sweep.load_results(tmp_path)


def test_a_killed_sweep_process_resumes_without_redoing_finished_runs(tmp_path):
    fields = {"datasets": ["mnist"], "methods": ["zero_shot", "fedbbpt"], "partitions": ["iid"]}
    fields.update(clients=[2], seeds=list(range(6)), vision=TINY_VISION)
    (tmp_path / "spec.json").write_text(json.dumps(fields))
    spec = sweep.load_spec(tmp_path / "spec.json")
    out, runs = tmp_path / "out", tmp_path / "out" / sweep.RUNS_FILE
    command = [sys.executable, "-m", "fedbbpt_lite", "sweep", "--spec", str(tmp_path / "spec.json")]
    command += ["--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline and len(read_rows(runs, missing_ok=True)) < 3:
        assert process.poll() is None, process.stdout.read().decode()
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = read_rows(runs)
    assert 3 <= len(before) < len(sweep.experiments(spec)), "the kill came too late to test"
    assert len(list((out / CLAIMS_DIR).iterdir())) == 1  # the run it held when killed
    # the dead worker's claim is taken over at once: its process is gone on this host
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"{len(before)} already finished" in finished.stdout
    after = read_rows(runs)
    assert after[: len(before)] == before
    assert sorted(r["run_id"] for r in after) == sorted(
        sweep.run_id(e) for e in sweep.experiments(spec)
    )
    assert not list((out / CLAIMS_DIR).iterdir())


# ----------------------------------------------------------------------------- command line


def test_the_sweep_command_prints_the_summary_table(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text("datasets: [mnist]\nmethods: [zero_shot]\nclients: [2]\nseeds: [0, 1]\n")
    assert main(["sweep", "--spec", str(spec), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "2 runs stored" in printed and "| mnist | grid | " in printed


def test_the_sweep_command_names_a_bad_spec_and_exits_2(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text("datasets: [mnist]\nalphas: [-1]\n")
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "--spec", str(spec), "--out", str(tmp_path / "r")])
    assert stop.value.code == 2 and "alphas" in capsys.readouterr().err
