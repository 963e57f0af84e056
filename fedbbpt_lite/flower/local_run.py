"""`flwr run APP local` from the running Python's own environment, leaving nothing behind.

A notebook kernel often lacks its environment's bin folder on PATH, and `flwr run` starts a
local SuperLink that outlives it (with its SuperExec, simulation and Ray processes) and writes
~/.flwr. Here Flower's home is a fresh scratch folder and the SuperLink gets free ports; every
process whose environment carries that home, the processes this run started, is stopped by its
process id before returning.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from ..validation import check_count

QUIET = {  # no telemetry, no update check, no per-run dependency installs (offline)
    "FLWR_TELEMETRY_ENABLED": "0",
    "FLWR_DISABLE_UPDATE_CHECK": "1",
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _started_with(home: str) -> list[psutil.Process]:
    """Running processes whose environment names `home` as Flower's home."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("FLWR_HOME") == home and process.pid != os.getpid():
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _stop_started(home: str, grace_s: float = 10.0) -> None:
    """Stop (SIGTERM, then SIGKILL after `grace_s`) every process started with FLWR_HOME set to
    `home`."""
    processes = _started_with(home)
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):  # it may have ended by itself
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace_s)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=grace_s)


def run_local(
    app, num_supernodes: int, run_config: dict | None = None, timeout_s: float = 600
) -> str:
    """Run the Flower app in folder `app` with `flwr run APP local` and `num_supernodes`
    simulated SuperNodes; `run_config` overrides the app's config. Returns flwr's output."""
    app = Path(app)
    if not (app / "pyproject.toml").is_file():
        raise ValueError(f"app must be a Flower app folder holding pyproject.toml, got {app}")
    check_count("num_supernodes", num_supernodes, minimum=1)
    flwr = Path(sys.executable).parent / "flwr"
    if not flwr.exists():
        raise FileNotFoundError(
            f"flwr is not installed beside this Python ({sys.executable}): pip install -e .[flower]"
        )
    home = tempfile.mkdtemp(prefix="fedbbpt-flwr-")
    env = (
        os.environ
        | QUIET
        | {
            "FLWR_HOME": home,
            "PATH": f"{flwr.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "FLWR_LOCAL_SUPERLINK_HTTP_API_PORT": str(_free_port()),
            "FLWR_LOCAL_CONTROL_API_PORT": str(_free_port()),
        }
    )
    command = [str(flwr), "run", str(app), "local", "--stream"]
    command += ["--federation-config", f"num-supernodes={num_supernodes}"]
    if run_config:
        quoted = {k: repr(v) if isinstance(v, str) else v for k, v in run_config.items()}
        command += ["--run-config", " ".join(f"{k}={v}" for k, v in quoted.items())]
    start = time.monotonic()
    try:
        run = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    finally:
        _stop_started(home)
    log = Path(home) / "local-superlink" / "superlink.log"
    detail = log.read_text()[-2000:] if log.exists() else ""
    shutil.rmtree(home, ignore_errors=True)
    if run.returncode != 0:
        raise RuntimeError(
            f"flwr run failed after {time.monotonic() - start:.0f} s (exit {run.returncode}):\n"
            f"{run.stdout[-2000:]}{run.stderr[-2000:]}{detail}"
        )
    return run.stdout
