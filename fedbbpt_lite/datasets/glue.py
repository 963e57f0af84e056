"""The seven GLUE tasks of the paper's text setting, with BDPL's templates and label words.

A task loads from a folder of the original GLUE TSV files (train.tsv, dev.tsv; MNLI's
dev_matched.tsv), by default <data root>/glue/<task>, or else, by Hugging Face name, from the
`nyu-mll/glue` parquet files in the Hugging Face cache (downloaded there when the machine has
network). The training split is the pool the
few-shot clients draw from; GLUE's validation split is the test set, as in BDPL. Pair tasks hold
each example as a (first, second) tuple, which a verbaliser joins with its separator token.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..paths import data_root
from .base import TextDataset

HF_DATASET = "nyu-mll/glue"


@dataclass(frozen=True)
class GlueTask:
    """Where a task's fields are, and how BDPL asks RoBERTa about it.

    columns: the text field(s) in the parquet files; tsv: their TSV columns (names, or
    positions for CoLA's header-less files) and the label column; tsv_labels maps a TSV label to
    the integer of the parquet files. label_words are BDPL's, one per integer label; template
    holds '{}' where the mask goes, after the text (pairs: after the second text)."""

    config: str
    columns: tuple[str, ...]
    tsv: tuple
    tsv_labels: dict
    label_words: tuple[str, ...]
    template: str
    validation: str = "validation"
    dev_file: str = "dev.tsv"


_BINARY = {"0": 0, "1": 1}
_ENTAILMENT = {"entailment": 0, "not_entailment": 1}
GLUE_TASKS = {
    "mnli": GlueTask(
        "mnli",
        ("premise", "hypothesis"),
        ("sentence1", "sentence2", "gold_label"),
        {"entailment": 0, "neutral": 1, "contradiction": 2},
        ("no", "maybe", "yes"),
        "entailment? {}.",
        validation="validation_matched",
        dev_file="dev_matched.tsv",
    ),
    "qqp": GlueTask(
        "qqp",
        ("question1", "question2"),
        ("question1", "question2", "is_duplicate"),
        _BINARY,
        ("no", "yes"),
        "? {},",
    ),
    "sst2": GlueTask(
        "sst2", ("sentence",), ("sentence", "label"), _BINARY, ("terrible", "great"), "It was {}."
    ),
    "mrpc": GlueTask(
        "mrpc",
        ("sentence1", "sentence2"),
        ("#1 String", "#2 String", "Quality"),
        _BINARY,
        ("no", "yes"),
        "? {},",
    ),
    "cola": GlueTask("cola", ("sentence",), (3, 1), _BINARY, ("no", "yes"), "correct? {}."),
    "qnli": GlueTask(
        "qnli",
        ("question", "sentence"),
        ("question", "sentence", "label"),
        _ENTAILMENT,
        ("yes", "no"),
        "entailment? {}.",
    ),
    "rte": GlueTask(
        "rte",
        ("sentence1", "sentence2"),
        ("sentence1", "sentence2", "label"),
        _ENTAILMENT,
        ("yes", "no"),
        "entailment? {}.",
    ),
}
PREFIX = "glue/"


def glue_names() -> list[str]:
    """The registry names of the GLUE tasks, e.g. 'glue/sst2'."""
    return [PREFIX + task for task in GLUE_TASKS]


def load_glue(name: str, folder=None) -> TextDataset:
    """A GLUE task by registry name ('glue/sst2') or task name ('sst2'): from `folder` (GLUE
    TSV or nyu-mll/glue parquet files; default <data root>/glue/<task> when it exists), else
    from the Hugging Face cache."""
    task = _task(name)
    folder = locate_glue(name) if folder is None else Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} is not a folder of GLUE files")
    if (folder / task.config).is_dir():  # the layout of nyu-mll/glue: one folder per task
        folder = folder / task.config
    reader = _read_parquet if any(folder.rglob("*.parquet")) else _read_tsv
    parts = {part: reader(task, folder, part) for part in ("train", "test")}
    return TextDataset(
        name=PREFIX + task.config,
        train_texts=parts["train"][0],
        y_train=parts["train"][1],
        test_texts=parts["test"][0],
        y_test=parts["test"][1],
        class_names=task.label_words,
        template=task.template,
    )


def locate_glue(name: str) -> Path:
    """The folder of a task's files: <data root>/glue/<task> if it exists, else the Hugging
    Face cache's parquet files (downloaded when online)."""
    task = _task(name)
    local = data_root() / "glue" / task.config
    return local if local.is_dir() else _hub_folder(task)


def _task(name: str) -> GlueTask:
    if not isinstance(name, str) or name.removeprefix(PREFIX) not in GLUE_TASKS:
        raise ValueError(f"name must be one of {glue_names()}, got {name!r}")
    return GLUE_TASKS[name.removeprefix(PREFIX)]


def _examples(rows, fields, labels, source: str) -> tuple[tuple, np.ndarray]:
    """Texts (strings, or tuples for pairs) and integer labels, skipping rows with an empty
    text; a row without one of the fields is an error."""
    texts, ys = [], []
    for number, row in enumerate(rows, 1):
        try:
            raw = [row[f] for f in fields]
            label = labels(row)
        except (KeyError, IndexError):
            fields_wanted = [*fields, "label"]
            raise ValueError(f"{source} row {number} lacks the fields {fields_wanted}") from None
        if any(value is None or value != value for value in raw):  # short row, or NaN
            raise ValueError(f"{source} row {number} lacks the fields {list(fields)}")
        values = [" ".join(str(value).split()) for value in raw]
        if not all(values):
            continue
        texts.append(values[0] if len(values) == 1 else tuple(values))
        ys.append(label)
    if not texts:
        raise ValueError(f"{source} holds no labelled examples")
    return tuple(texts), np.array(ys, dtype=np.int64)


def _read_tsv(task: GlueTask, folder: Path, part: str) -> tuple[tuple, np.ndarray]:
    """One split of the original GLUE TSV files (no quoting, as GLUE writes them)."""
    path = folder / ("train.tsv" if part == "train" else task.dev_file)
    if not path.is_file():
        raise ValueError(f"GLUE task {task.config!r} needs {path} (the GLUE TSV layout)")
    *fields, label_field = task.tsv
    with path.open(newline="", encoding="utf-8") as handle:
        if isinstance(label_field, int):  # CoLA: no header, fields by position
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        else:
            rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))

    def label(row):
        if row[label_field] is None:  # a short row: csv fills missing fields with None
            raise KeyError(label_field)
        value = str(row[label_field]).strip()
        if value not in task.tsv_labels:
            raise ValueError(
                f"{path.name}: label {value!r} is not one of {sorted(task.tsv_labels)}"
            )
        return task.tsv_labels[value]

    return _examples(rows, fields, label, path.name)


def _read_parquet(task: GlueTask, folder: Path, part: str) -> tuple[tuple, np.ndarray]:
    """One split of the nyu-mll/glue parquet files (<config>/<split>-*.parquet)."""
    import pandas as pd

    split = "train" if part == "train" else task.validation
    files = sorted(folder.rglob(f"{split}-*.parquet"))
    if not files:
        raise ValueError(f"GLUE task {task.config!r} needs {split}-*.parquet under {folder}")
    try:
        frame = pd.concat([pd.read_parquet(f) for f in files])
    except ImportError:
        raise ValueError(
            "reading GLUE parquet files needs pyarrow: pip install -e .[paper]"
        ) from None
    rows = frame.to_dict("records")
    return _examples(rows, task.columns, lambda row: int(row["label"]), files[0].name)


def _hub_folder(task: GlueTask) -> Path:
    """The task's parquet files from the Hugging Face cache (downloaded when online)."""
    from huggingface_hub import snapshot_download

    patterns = [f"{task.config}/train-*", f"{task.config}/{task.validation}-*"]
    try:
        return Path(snapshot_download(HF_DATASET, repo_type="dataset", allow_patterns=patterns))
    except Exception as error:  # offline, no cache, or a network failure
        where = os.environ.get("HF_HOME", "~/.cache/huggingface")
        raise ValueError(
            f"GLUE task {task.config!r} is not in the Hugging Face cache ({where}) and could "
            f"not be downloaded ({type(error).__name__}). Fix: on a machine with network run "
            f"`HF_HUB_OFFLINE=0 hf download {HF_DATASET} --repo-type dataset --include "
            f"'{task.config}/*'`, or put the GLUE TSV files (train.tsv, {task.dev_file}) in "
            f"{data_root() / 'glue' / task.config}."
        ) from None
