"""The offline text suite: labelled news text for the language-model black boxes.

Each entry is a training pool plus a fixed, class-balanced test set of short texts, stored as
JSON lines under data/text (built by scripts/build_text_suite.py).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..paths import DATA_DIR
from ..validation import check_real, check_template
from .base import TextDataset
from .manifest import Suite

SUITE = Suite(DATA_DIR / "text", ".jsonl")
TEXT_DIR, MANIFEST = SUITE.folder, SUITE.manifest
text_dataset_names, text_dataset_info = SUITE.names, SUITE.info
verify_text_checksums = SUITE.verify


def load_text(name: str) -> TextDataset:
    """Load a committed text data set by name (see text_dataset_names()), or a GLUE task
    ('glue/sst2', from the Hugging Face cache: see datasets.glue)."""
    if isinstance(name, str) and name.startswith("glue/"):
        from .glue import load_glue

        return load_glue(name)
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


def _read_rows(path: Path) -> list[dict]:
    """The records of a .jsonl (one JSON object a line) or .csv (a header row) file, which must
    be UTF-8 (an error names the file and where its first other byte is)."""
    try:
        return _decoded_rows(path)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"data file {path.name} is not UTF-8 (byte {error.start} cannot be decoded); save it "
            "as UTF-8, e.g. with iconv -f latin1 -t utf-8"
        ) from None


def _decoded_rows(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path.name} line {number} is not JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path.name} line {number} must be a JSON object")
            rows.append(row)
        return rows
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    raise ValueError(f"data file {path.name} must end in .jsonl or .csv, got {path.suffix!r}")


def load_text_file(
    path,
    template: str = "This text is about {}.",
    manual_prompt: str = "",
    test_fraction: float = 0.3,
) -> TextDataset:
    """A user's own labelled texts from .jsonl or .csv records with "text" and "label" (a class
    name) and optionally "split" ("train" or "test"). Classes are the label names, sorted.
    Without a split, a seeded test_fraction of each class becomes the test set."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} does not exist or is not a file")
    check_template(template)
    if not isinstance(manual_prompt, str):
        raise TypeError(f"manual_prompt must be a string, got {type(manual_prompt).__name__}")
    test_fraction = check_real("test_fraction", test_fraction, positive=True, below=1.0)
    rows = _read_rows(path)
    if not rows:
        raise ValueError(f"data file {path.name} holds no records")
    for number, row in enumerate(rows, 1):
        for key in ("text", "label"):
            if not isinstance(row.get(key), str | int) or not str(row[key]).strip():
                raise ValueError(f"{path.name} record {number} needs a non-empty {key!r}")
        if row.get("split", "train") not in ("train", "test", None, ""):
            raise ValueError(f"{path.name} record {number}: split must be 'train' or 'test'")
    names = sorted({str(row["label"]).strip() for row in rows})
    if len(names) < 2:
        raise ValueError(f"data file {path.name} must name at least two classes, got {names}")
    labels = np.array([names.index(str(row["label"]).strip()) for row in rows])
    texts = [" ".join(str(row["text"]).split()) for row in rows]
    if any(row.get("split") for row in rows):
        test = np.array([row.get("split") == "test" for row in rows])
    else:
        rng, test = np.random.default_rng(0), np.zeros(len(rows), dtype=bool)
        for c in range(len(names)):
            members = np.flatnonzero(labels == c)
            test[rng.choice(members, int(round(test_fraction * len(members))), replace=False)] = 1
    for part, mask in (("train", ~test), ("test", test)):
        missing = [names[c] for c in range(len(names)) if not (labels[mask] == c).any()]
        if missing:
            raise ValueError(f"data file {path.name}: no {part} texts of the classes {missing}")
    return TextDataset(
        name=path.stem,
        train_texts=tuple(t for t, m in zip(texts, test, strict=True) if not m),
        y_train=labels[~test],
        test_texts=tuple(t for t, m in zip(texts, test, strict=True) if m),
        y_test=labels[test],
        class_names=tuple(names),
        template=template,
        manual_prompt=manual_prompt,
    )
