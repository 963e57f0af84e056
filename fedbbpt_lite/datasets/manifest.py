"""Each committed suite lists its data sets in a manifest.json beside the files: read one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def read_manifest(path: Path) -> dict:
    """The manifest's entries by data-set name, in suite order."""
    return json.loads(Path(path).read_text())


def manifest_entry(path: Path, name: str) -> dict:
    """One data set's entry; an unknown name raises ValueError listing the known ones."""
    manifest = read_manifest(path)
    if name not in manifest:
        raise ValueError(f"name must be one of {sorted(manifest)}, got {name!r}")
    return manifest[name]


def file_matches(path: Path, sha256: str) -> bool:
    """Whether the file exists and its SHA-256 is the one recorded."""
    return path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256
