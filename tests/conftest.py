"""Fixtures shared by the test modules: one MiniCLIP black box per test process."""

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
