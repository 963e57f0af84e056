"""The offline instruction-induction suite (InstructZero's tasks) and users' own tasks: input ->
output pairs as JSON lines under data/instructions (built by scripts/build_instruction_suite.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..paths import DATA_DIR
from ..validation import check_real
from .base import InstructionDataset
from .manifest import Suite

SUITE = Suite(DATA_DIR / "instructions", ".jsonl")
INSTRUCTION_DIR = SUITE.folder
instruction_task_names, instruction_task_info = SUITE.names, SUITE.info
verify_instruction_checksums = SUITE.verify


def load_instructions(name: str) -> InstructionDataset:
    """A committed instruction-induction task by name (see instruction_task_names())."""
    info = instruction_task_info(name)
    rows = [json.loads(line) for line in (INSTRUCTION_DIR / f"{name}.jsonl").open()]
    return _dataset(name, rows, info["instruction"])


def load_instruction_file(path, instruction: str = "", test_fraction: float = 0.4):
    """A user's own task from a .jsonl file of {"input", "output"} records, optionally with
    "split" ("train" or "test"); without one, a seeded test_fraction becomes the test set."""
    path = Path(path)
    if not path.is_file() or path.suffix != ".jsonl":
        raise ValueError(f"data file {str(path)!r} must be an existing .jsonl file")
    if not isinstance(instruction, str):
        raise TypeError(f"instruction must be a string, got {type(instruction).__name__}")
    test_fraction = check_real("test_fraction", test_fraction, positive=True, below=1.0)
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"{path.name} line {number} is not JSON") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path.name} line {number} must be an object with input and output")
        for key in ("input", "output"):
            if not isinstance(row.get(key), str | int | float) or not str(row[key]).strip():
                raise ValueError(f"{path.name} line {number} needs a non-empty {key!r}")
        if row.get("split") not in ("train", "test", None):
            raise ValueError(f"{path.name} line {number}: split must be 'train' or 'test'")
        rows.append({**row, "input": str(row["input"]), "output": str(row["output"])})
    if not any(row.get("split") for row in rows):
        test = np.random.default_rng(0).permutation(len(rows)) < round(test_fraction * len(rows))
        rows = [
            {**row, "split": "test" if t else "train"} for row, t in zip(rows, test, strict=True)
        ]
    return _dataset(path.stem, rows, " ".join(instruction.split()))


def _dataset(name: str, rows: list[dict], instruction: str) -> InstructionDataset:
    parts = {
        part: [r for r in rows if r.get("split", "train") == part] for part in ("train", "test")
    }
    for part, found in parts.items():
        if len(found) < 2:
            raise ValueError(f"task {name!r} needs at least two {part} pairs, got {len(found)}")
    return InstructionDataset(
        name=name,
        train_inputs=tuple(r["input"] for r in parts["train"]),
        train_outputs=tuple(r["output"] for r in parts["train"]),
        test_inputs=tuple(r["input"] for r in parts["test"]),
        test_outputs=tuple(r["output"] for r in parts["test"]),
        instruction=instruction,
    )
