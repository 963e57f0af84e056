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


class Suite:
    """A committed suite: one file per data set (its name + suffix) in a folder, beside the
    manifest.json that describes them and holds their checksums."""

    def __init__(self, folder: Path, suffix: str):
        self.folder, self.suffix = Path(folder), suffix
        self.manifest = self.folder / "manifest.json"

    def names(self) -> list[str]:
        """The suite's data sets, in suite order."""
        return list(read_manifest(self.manifest))

    def info(self, name: str) -> dict:
        """One data set's description, sizes, source and checksum."""
        return manifest_entry(self.manifest, name)

    def path(self, name: str) -> Path:
        """The committed file of a data set."""
        return self.folder / f"{name}{self.suffix}"

    def verify(self) -> dict[str, bool]:
        """Whether each committed file is present and still matches its SHA-256."""
        return {
            name: file_matches(self.path(name), info["sha256"])
            for name, info in read_manifest(self.manifest).items()
        }
