"""Lesson 00's environment check: is everything the kit needs here, offline?"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .blackbox.miniclip import WEIGHTS
from .blackbox.text_encoder import minilm_path
from .datasets.registry import verify_checksums


def check() -> list[tuple[str, bool]]:
    """(what, ok) pairs: Python version, libraries, offline model files, data checksums."""
    sums = verify_checksums()
    return [
        ("Python 3.11 or newer", sys.version_info >= (3, 11)),
        *[
            (f"library {name} importable", importlib.util.find_spec(name) is not None)
            for name in ("torch", "transformers", "matplotlib", "ipywidgets", "pandas")
        ],
        ("MiniLM text tower on disk", (Path(minilm_path()) / "model.safetensors").exists()),
        ("MiniCLIP image tower on disk", WEIGHTS.exists()),
        (f"{len(sums)} vision data sets match their checksums", all(sums.values())),
    ]


def report() -> str:
    """The check as printable lines, one 'ok' or 'MISSING' per item."""
    return "\n".join(f"{'ok     ' if ok else 'MISSING'} {what}" for what, ok in check())
