"""Generate the student copies in notebooks/exercises/ from the lessons (solutions removed).

In every code cell, the lines from `### BEGIN SOLUTION` to `### END SOLUTION` become a
`raise NotImplementedError(...)` at the same indentation; outputs are cleared.
Usage: python scripts/make_exercises.py [--check]   (--check: fail if the copies are stale)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXERCISES = NOTEBOOKS / "exercises"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Your turn: write this part, then run the check below.")'


def strip_solutions(source: str) -> str:
    """Replace each solution block in a cell's source with a NotImplementedError stub."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"nested {BEGIN!r} in:\n{source}")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END!r} without {BEGIN!r} in:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r} in:\n{source}")
    return "\n".join(out)


def student_copy(lesson: Path) -> str:
    """The student version of one lesson, as notebook JSON text."""
    nb = nbformat.read(lesson, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(nb) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale copies")
    args = parser.parse_args()
    lessons = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    EXERCISES.mkdir(exist_ok=True)
    stale = []
    for lesson in lessons:
        target = EXERCISES / lesson.name
        text = student_copy(lesson)
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text)
    orphans = sorted(p.name for p in EXERCISES.glob("*.ipynb") if not (NOTEBOOKS / p.name).exists())
    if args.check and (stale or orphans):
        print(f"stale student copies: {stale}; without a lesson: {orphans}")
        print("run: make exercises")
        return 1
    print(f"{len(lessons)} student copies {'checked' if args.check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
