"""A resumable store of finished runs: one JSON object a line, appended as each run ends.

Rows are keyed by the fields that identify a run; a rerun skips keys already stored. Each row
is written whole and flushed to disk before the next run starts, and a last line cut off by a
kill is ignored on reading, so an interruption loses at most the run in flight.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def read_rows(path, missing_ok: bool = False) -> list[dict]:
    """Every whole row of a results file, skipping a last line cut off by a kill."""
    path = Path(path)
    if not path.exists():
        if missing_ok:
            return []
        raise FileNotFoundError(f"no results file at {path}")
    lines, rows = path.read_text().splitlines(), []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # a write cut off by a kill: that run is redone
                continue
            row = None
        if not isinstance(row, dict):
            raise ValueError(
                f"{path} line {number} is not a JSON object (one run's row); the file is left "
                "as it is: mend or delete that line, or give another output path"
            )
        rows.append(row)
    return rows


class ResultStore:
    """Finished runs in a JSON-lines file, by the values of `key_fields`."""

    def __init__(self, path, key_fields: tuple[str, ...]):
        self.path, self.key_fields = Path(path), tuple(key_fields)
        self.refresh()

    def refresh(self) -> None:
        """Read the file again, with the rows other processes have stored since."""
        self.rows = {self.key(row): row for row in read_rows(self.path, missing_ok=True)}

    def key(self, row: dict) -> tuple:
        """The identifying values of a row."""
        missing = [field for field in self.key_fields if field not in row]
        if missing:
            raise ValueError(f"row lacks the key fields {missing}")
        return tuple(row[field] for field in self.key_fields)

    def __contains__(self, key: tuple) -> bool:
        return key in self.rows

    def append(self, row: dict) -> None:
        """Store a finished run: one whole line, flushed and synced before returning."""
        key = self.key(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = self.path.read_text() if self.path.exists() else ""
        if text and not text.endswith("\n"):  # drop a line cut off by a kill
            self.path.write_text(text[: text.rfind("\n") + 1])
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.rows[key] = row
