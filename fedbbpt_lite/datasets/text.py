"""The offline text suite: labelled news text for the language-model black boxes.

Each entry is a training pool plus a fixed, class-balanced test set of short texts, stored as
JSON lines under data/text (built by scripts/build_text_suite.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..paths import DATA_DIR
from .manifest import file_matches, manifest_entry, read_manifest

TEXT_DIR = DATA_DIR / "text"
MANIFEST = TEXT_DIR / "manifest.json"


@dataclass(frozen=True)
class TextDataset:
    """A pool and a test set of texts with integer labels naming class_names; template
    describes a class, manual_prompt is a hand-written prefix for every input."""

    name: str
    train_texts: tuple[str, ...]
    y_train: np.ndarray
    test_texts: tuple[str, ...]
    y_test: np.ndarray
    class_names: tuple[str, ...]
    template: str
    manual_prompt: str = ""

    @property
    def prompts(self) -> list[str]:
        """The manual description of each class, e.g. 'This news article is about sport.'"""
        return [self.template.format(name) for name in self.class_names]


def text_dataset_names() -> list[str]:
    """Names of the committed text data sets."""
    return list(read_manifest(MANIFEST))


def text_dataset_info(name: str) -> dict:
    """Description, classes, sizes, source and checksum of one committed text data set."""
    return manifest_entry(MANIFEST, name)


def load_text(name: str) -> TextDataset:
    """Load a committed text data set by name (see text_dataset_names())."""
    info = text_dataset_info(name)
    rows = [json.loads(line) for line in (TEXT_DIR / f"{name}.jsonl").read_text().splitlines()]
    split = {part: [row for row in rows if row["split"] == part] for part in ("train", "test")}
    return TextDataset(
        name=name,
        train_texts=tuple(row["text"] for row in split["train"]),
        y_train=np.array([row["label"] for row in split["train"]], dtype=np.int64),
        test_texts=tuple(row["text"] for row in split["test"]),
        y_test=np.array([row["label"] for row in split["test"]], dtype=np.int64),
        class_names=tuple(info["class_names"]),
        template=info["template"],
        manual_prompt=info["manual_prompt"],
    )


def verify_text_checksums() -> dict[str, bool]:
    """Whether each committed text file still matches the SHA-256 in the manifest."""
    return {
        name: file_matches(TEXT_DIR / f"{name}.jsonl", info["sha256"])
        for name, info in read_manifest(MANIFEST).items()
    }
