"""Sweeps that many workers share: two sweep processes on one folder, --workers, claims of dead
and live workers, a failing run, and the Ray path on a local instance with a worker that dies
(tests/test_sweep.py kills a sweep process mid-run)."""

import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from fedbbpt_lite import sweep
from fedbbpt_lite.results_store import read_rows
from fedbbpt_lite.run_claims import CLAIMS_DIR, RunClaims

TINY_VISION = {"rounds": 1, "local_steps": 1, "batch_size": 8, "shots": 2}
FIELDS = {"datasets": ["mnist"], "methods": ["zero_shot", "fedbbpt"], "partitions": ["iid"]}
FIELDS.update(clients=[2], seeds=[0, 1, 2], vision=TINY_VISION)


def _spec_file(tmp_path, **changes):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**FIELDS, **changes}))
    return path


def _command(spec_file, out, *extra):
    command = [sys.executable, "-m", "fedbbpt_lite", "sweep", "--spec", str(spec_file)]
    return [*command, "--out", str(out), "--quiet", *extra]


def _every_run_once(spec_file, out):
    stored = [row["run_id"] for row in read_rows(out / sweep.RUNS_FILE)]
    planned = [sweep.run_id(e) for e in sweep.experiments(sweep.load_spec(spec_file))]
    assert sorted(stored) == sorted(planned)  # each once: no run missing, none twice
    assert not list((out / CLAIMS_DIR).iterdir())


def test_two_sweeps_on_one_folder_run_every_run_once(tmp_path):
    spec, out = _spec_file(tmp_path), tmp_path / "out"
    both = [subprocess.Popen(_command(spec, out), stderr=subprocess.PIPE) for _ in range(2)]
    for process in both:
        assert process.wait(timeout=300) == 0, process.stderr.read().decode()
    _every_run_once(spec, out)


def test_workers_share_the_cores_and_the_folder(tmp_path):
    spec, out = _spec_file(tmp_path), tmp_path / "out"
    done = subprocess.run(_command(spec, out, "--workers", "2"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "6 runs stored" in done.stdout
    _every_run_once(spec, out)


def test_a_live_workers_claim_is_left_and_a_dead_or_silent_ones_taken_over(tmp_path):
    claims = RunClaims(tmp_path, beat=0.05, stale_after=0.5)
    try:
        claims.path("a").write_text(json.dumps({"host": "elsewhere", "pid": 1}))
        assert claims.live("a")  # touched just now by a worker on another machine
        old = time.time() - 5
        os.utime(claims.path("a"), (old, old))
        assert not claims.live("a")  # not touched for longer than stale_after
        here = claims.owner["host"]
        claims.path("b").write_text(json.dumps({"host": here, "pid": os.getppid()}))
        assert claims.live("b")
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        claims.path("c").write_text(json.dumps({"host": here, "pid": dead.pid}))
        assert not claims.live("c")  # its process has ended
        claims.take("d")
        os.utime(claims.path("d"), (old, old))
        time.sleep(0.3)
        assert time.time() - claims.path("d").stat().st_mtime < 0.5  # kept fresh by the beat
    finally:
        claims.close()
    assert not claims.path("d").exists()
    with pytest.raises(ValueError, match="stale_after"):
        RunClaims(tmp_path, beat=10, stale_after=5)


def test_a_failing_run_is_reported_and_every_other_run_stored(tmp_path, monkeypatch):
    spec = sweep.load_spec(_spec_file(tmp_path))
    real = sweep.run_experiment

    def fail_seed_1(experiment, *args, **kwargs):
        if experiment.seed == 1 and experiment.method == "fedbbpt":
            raise FloatingPointError("the loss became NaN")
        return real(experiment, *args, **kwargs)

    monkeypatch.setattr(sweep, "run_experiment", fail_seed_1)
    reported = r"(?s)1 run\(s\) failed.*seed 1: FloatingPointError"
    with pytest.raises(RuntimeError, match=reported) as failed:
        sweep.run_sweep(spec, tmp_path / "out", progress=False)
    assert isinstance(failed.value.__cause__, FloatingPointError)  # the run's own traceback
    assert len(read_rows(tmp_path / "out" / sweep.RUNS_FILE)) == 5
    monkeypatch.setattr(sweep, "run_experiment", real)
    assert len(sweep.run_sweep(spec, tmp_path / "out", progress=False)) == 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers"),
        ({"workers": 2, "ray_address": "local"}, "workers applies without ray_address"),
        ({"ray_address": ""}, "ray_address"),
    ],
)
def test_bad_worker_settings_are_refused_by_name(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sweep.run_sweep(_spec_file(tmp_path), tmp_path / "out", progress=False, **kwargs)


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the module's Ray tests (RayRuns joins a connected one)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_the_ray_path_stores_what_a_local_sweep_does_and_survives_a_dead_worker(
    tmp_path, local_ray
):
    from fedbbpt_lite.ray_sweep import RayRuns

    spec = sweep.load_spec(_spec_file(tmp_path))
    local = sweep.run_sweep(spec, tmp_path / "local", progress=False).set_index("run_id")
    on_ray = sweep.run_sweep(spec, tmp_path / "ray", progress=False, ray_address="local")
    on_ray = on_ray.set_index("run_id").loc[local.index]
    assert on_ray["accuracy"].tolist() == local["accuracy"].tolist()

    def die_on_seed_2(experiment, test_every):
        if experiment.seed == 2 and experiment.method == "fedbbpt":
            os._exit(1)  # the worker process dies mid-run
        return sweep.run_row(experiment, test_every, {})

    out = tmp_path / "killed"
    with RayRuns("local", die_on_seed_2) as runs:
        failures = sweep.drive(spec, sweep.experiments(spec), out, runs)
    assert len(failures) == 1 and "seed 2" in failures[0]
    assert len(read_rows(out / sweep.RUNS_FILE)) == 5
    assert sweep.run_sweep(replace(spec), out, progress=False)["run_id"].nunique() == 6
