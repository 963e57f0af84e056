"""Lesson 00's environment check: are the model files and data the kit needs on this disk?"""

from __future__ import annotations

import sys
from pathlib import Path

from .blackbox.miniclip import WEIGHTS
from .blackbox.text_encoder import minilm_path
from .datasets.vision_sets import verify_checksums


def check() -> list[tuple[str, bool]]:
    """(what, ok) pairs: Python version, offline model files, each data file's checksum."""
    return [
        ("Python 3.11 or newer", sys.version_info >= (3, 11)),
        ("MiniLM text tower on disk", (Path(minilm_path()) / "model.safetensors").exists()),
        ("MiniCLIP image tower on disk", WEIGHTS.exists()),
        *[
            (f"data set {name} present and matching its checksum", ok)
            for name, ok in verify_checksums().items()
        ],
    ]


def report() -> str:
    """The check as printable lines, one 'ok' or 'MISSING' per item."""
    return "\n".join(f"{'ok     ' if ok else 'MISSING'} {what}" for what, ok in check())
