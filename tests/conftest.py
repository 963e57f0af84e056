"""Fixtures shared by the test modules: one MiniCLIP black box per test process."""

import importlib.util
from pathlib import Path

import pytest

from fedbbpt_lite.blackbox import MiniCLIPBlackBox


@pytest.fixture(scope="session")
def clip_shared() -> MiniCLIPBlackBox:
    return MiniCLIPBlackBox()


@pytest.fixture
def clip(clip_shared) -> MiniCLIPBlackBox:
    """The shared black box with a fresh meter."""
    clip_shared.meter.reset()
    return clip_shared


def load_script(name: str):
    """A script under scripts/ imported as a module (its main() is not run)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
