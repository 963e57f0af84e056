"""Where the kit's files live: the checkout's data/ folder (install with pip install -e .), the
cache of converted models, and the root of the paper-scale image sets."""

import os
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def cache_dir() -> Path:
    """Where the kit keeps converted models: $FEDBBPT_LITE_CACHE, else ~/.cache/fedbbpt-lite."""
    if os.environ.get("FEDBBPT_LITE_CACHE"):
        return Path(os.environ["FEDBBPT_LITE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fedbbpt-lite"


def data_root() -> Path:
    """Where the paper-scale image sets live: $FEDBBPT_LITE_DATA, else <cache_dir()>/data."""
    return Path(os.environ.get("FEDBBPT_LITE_DATA") or cache_dir() / "data")
