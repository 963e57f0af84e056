"""Run the filled student copies (build/student_copies/, written by `scripts/make_exercises.py
--filled`) under nbval the way a student runs their copy: nbval starts each kernel in the
notebook's folder, so a kernel for a filled copy is started instead in notebooks/exercises/, with
this environment's bin folder off PATH, as `make lab` starts one (Jupyter finds the kernel's
Python, but nothing puts .venv/bin on PATH)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STUDENT_COPIES = ROOT / "build" / "student_copies"
EXERCISES = ROOT / "notebooks" / "exercises"


def student_environment() -> dict:
    """os.environ without the running Python's bin folder on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry != bin_dir]
    return {**os.environ, "PATH": os.pathsep.join(path)}


def pytest_configure(config):
    if not getattr(config.option, "nbval", False):
        return
    from nbval import kernel, plugin

    class StudentKernel(kernel.RunningKernel):
        def __init__(self, kernel_name, cwd=None, startup_timeout=60):
            if cwd is None or Path(cwd).resolve() != STUDENT_COPIES:
                super().__init__(kernel_name, cwd=cwd, startup_timeout=startup_timeout)
                return
            self.km, self.kc = kernel.start_new_kernel(
                startup_timeout=startup_timeout,
                kernel_name=kernel_name,
                stderr=open(os.devnull, "w"),  # noqa: SIM115 - as nbval's own kernel does
                cwd=str(EXERCISES),
                env=student_environment(),
            )
            self._ensure_iopub_up()

    plugin.RunningKernel = StudentKernel
