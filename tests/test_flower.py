"""The Flower adapter: the same federation on Flower's simulation runtime (in process and under
`flwr run`) and on a real SuperLink with two SuperNodes on loopback. Skipped without Flower
(pip install -e .[flower]); CI installs it."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

pytest.importorskip("flwr")

from flwr.simulation import run_simulation as flower_simulation  # noqa: E402

from fedbbpt_lite.federated import FedAvg, run_simulation  # noqa: E402
from fedbbpt_lite.federated.faults import with_dropouts  # noqa: E402
from fedbbpt_lite.flower import (  # noqa: E402
    ServerSetup,
    client_app,
    fit_reply,
    message_contents,
    run_local,
    server_app,
)
from fedbbpt_lite.tasks.engine import run_experiment  # noqa: E402
from fedbbpt_lite.tasks.toy_federation import QuadraticFederation  # noqa: E402
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "flower_app"
BIN = Path(sys.executable).parent
QUIET = {
    "FLWR_TELEMETRY_ENABLED": "0",
    "FLWR_DISABLE_UPDATE_CHECK": "1",
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",
}
RAY = {"client_resources": {"num_cpus": 1, "num_gpus": 0.0}}
RAY["init_args"] = {"num_cpus": 2, "logging_level": "ERROR"}


def test_on_flower_full_participation_gives_the_in_process_aggregates_and_failures(monkeypatch):
    for key, value in QUIET.items():
        monkeypatch.setenv(key, value)
    federation = QuadraticFederation(num_clients=4)
    client_fn = with_dropouts(federation.client_fn(local_steps=2), rate=0.25, seed=3)
    got = {}

    def setup(run_config):
        return ServerSetup(FedAvg(), num_rounds=3, num_clients=4, initial_parameters=[np.zeros(5)])

    flower_simulation(
        server_app=server_app(setup, on_history=lambda h, c: got.update(history=h), timeout=120),
        client_app=client_app(lambda run_config: client_fn),
        num_supernodes=4,
        backend_config=RAY,
    )
    expected = run_simulation(client_fn, 4, FedAvg(), num_rounds=3)
    history = got["history"]
    np.testing.assert_array_equal(history.parameters[0], expected.parameters[0])
    assert history.fits == expected.fits
    assert [(f["round"], f["client"], f["error"]) for f in history.failures] == [
        (f["round"], f["client"], f["error"]) for f in expected.failures
    ]
    assert len(expected.failures) > 0  # some client dropped out, on both runtimes alike


def test_a_reply_carries_parameters_a_count_and_numbers_only():
    content = fit_reply([np.zeros(49)], 16, {"train_loss": 0.5, "api_calls": 5, "note": "x"})
    assert message_contents(content) == {
        "arrays": {"0": (49,)},
        "metrics": {"kind": "MetricRecord", "keys": ["api_calls", "num-examples", "train_loss"]},
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path) -> dict:
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, **QUIET, "FLWR_HOME": str(home), "PATH": path, "PYTHONHASHSEED": "0"}


def _wait_for_port(port: int, seconds: float = 60.0) -> None:
    """Until something listens on 127.0.0.1:port."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on port {port} after {seconds:g} s")


def _stop(pattern: str) -> None:
    """Stop every process whose command line names `pattern` (SIGTERM, then SIGKILL)."""
    for signal in ("-TERM", "-KILL"):
        subprocess.run(["pkill", signal, "-f", pattern], check=False)
        time.sleep(1)


def test_run_local_from_a_kernel_without_the_venv_on_path_matches_the_in_process_run(
    tmp_path, monkeypatch
):
    # As in a notebook kernel that `make lab` starts: this environment's bin folder is not on
    # PATH. Flower must write nothing under HOME, and leave no process running.
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != str(BIN)]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FLWR_HOME", raising=False)
    result = tmp_path / "result.json"
    run_local(
        APP,
        num_supernodes=10,
        run_config={"rounds": 3, "local-steps": 2, "result-file": str(result)},
    )
    outcome = json.loads(result.read_text())
    assert outcome["accuracy"] > outcome["zero_shot_accuracy"]
    # the app runs at the generator's default step size
    in_process = run_experiment(
        VisionExperiment(clients=10, rounds=3, local_steps=2, step_size=0.1)
    )
    assert outcome["accuracy_per_round"] == in_process["accuracy_per_round"]
    assert not (tmp_path / "home" / ".flwr").exists()
    left = [p.pid for p in psutil.process_iter() if _started_by_run_local(p)]
    assert not left, f"processes left running: {left}"


def _started_by_run_local(process) -> bool:
    try:
        home = process.environ().get("FLWR_HOME", "")
    except psutil.Error:
        return False
    return Path(home).name.startswith("fedbbpt-flwr-")


def test_run_local_names_a_folder_that_is_no_flower_app(tmp_path):
    with pytest.raises(ValueError, match="app"):
        run_local(tmp_path, num_supernodes=2)
    with pytest.raises((TypeError, ValueError), match="num_supernodes"):
        run_local(APP, num_supernodes=0)


def test_a_superlink_and_two_supernodes_on_loopback_complete_two_rounds(tmp_path):
    home, result = tmp_path / "flwr", tmp_path / "result.json"
    env, link = _env(home), _free_port()
    home.mkdir()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "deploy"\n\n[superlink.deploy]\n'
        f'address = "127.0.0.1:{link}"\ninsecure = true\n'
    )
    logs = [open(tmp_path / f"process{i}.log", "w") for i in range(3)]  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [str(BIN / "flower-superlink"), "--insecure", "--host", "127.0.0.1"]
            + ["--port", str(link), "--database", str(tmp_path / "link.db")],
            env=env,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        _wait_for_port(link)
        for node in (0, 1):
            processes.append(
                subprocess.Popen(
                    [str(BIN / "flower-supernode"), "--insecure"]
                    + ["--superlink", f"127.0.0.1:{link}", "--port", str(_free_port())]
                    + ["--node-config", f"partition-id={node} num-partitions=2"],
                    env=env,
                    stdout=logs[node + 1],
                    stderr=subprocess.STDOUT,
                )
            )
        command = [str(BIN / "flwr"), "run", str(APP), "deploy", "--stream", "--run-config"]
        command += [f"clients=2 rounds=2 local-steps=1 shots=4 result-file='{result}'"]
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        _stop(str(tmp_path))
        for log in logs:
            log.close()
    detail = run.stdout[-2000:] + run.stderr[-2000:]
    detail += "".join((tmp_path / f"process{i}.log").read_text()[-1500:] for i in range(3))
    assert result.exists(), detail
    outcome = json.loads(result.read_text())
    assert outcome["rounds"] == 2 and outcome["failures"] == 0
    assert len(outcome["accuracy_per_round"]) == 3


def test_a_run_config_describes_any_task_by_its_experiment_fields():
    from fedbbpt_lite.flower import experiment_of
    from fedbbpt_lite.tasks.text_experiment import TextExperiment

    vision_defaults = {"dataset": "mnist_inverted", "generator": "grid", "local-steps": 5}
    text = experiment_of({**vision_defaults, "task": "text", "dataset": "bbc_news"})
    assert text == TextExperiment(dataset="bbc_news")  # the vision-only keys are left out
    vision = experiment_of({**vision_defaults, "clients": 3, "result-file": ""})
    assert (vision.clients, vision.local_steps, vision.method) == (3, 5, "fedbbpt")
    with pytest.raises(ValueError, match="'local-step' is no experiment setting"):
        experiment_of({"local-step": 5})
    with pytest.raises(ValueError, match="task must be one of vision, text"):
        experiment_of({"task": "audio"})
