"""Load a script under scripts/ (or benchmarks/) as a module, for tests of its functions."""

import importlib.util
from pathlib import Path


def load_script(name: str, folder: str = "scripts"):
    """A script under scripts/ or benchmarks/ imported as a module (its main() is not run)."""
    path = Path(__file__).resolve().parents[1] / folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
