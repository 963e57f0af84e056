"""Where the kit's files live: the checkout the package is installed from (pip install -e .),
the cache of converted models, and the root of the paper-scale image sets."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"


def kit_path(relative) -> Path:
    """A file or folder that ships with the kit, found from the package rather than the working
    directory (lessons run from any folder)."""
    if not isinstance(relative, str | os.PathLike):
        raise TypeError(f"relative must be a path inside the kit, got {type(relative).__name__}")
    path = (ROOT / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(ROOT):
        raise ValueError(f"relative must be a path inside the kit ({ROOT}), got {relative!r}")
    if not path.exists():
        raise FileNotFoundError(f"the kit has no {relative} (looked for {path})")
    return path


def cache_dir() -> Path:
    """Where the kit keeps converted models: $FEDBBPT_LITE_CACHE, else ~/.cache/fedbbpt-lite."""
    if os.environ.get("FEDBBPT_LITE_CACHE"):
        return Path(os.environ["FEDBBPT_LITE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fedbbpt-lite"


def data_root() -> Path:
    """Where the paper-scale image sets live: $FEDBBPT_LITE_DATA, else <cache_dir()>/data."""
    return Path(os.environ.get("FEDBBPT_LITE_DATA") or cache_dir() / "data")
