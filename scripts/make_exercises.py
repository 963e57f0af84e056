"""Generate the student copies in notebooks/exercises/ from the lessons (solutions removed).

In every code cell, the lines from `### BEGIN SOLUTION` to `### END SOLUTION` become a
`raise NotImplementedError(...)` at the same indentation; outputs are cleared.

--filled DIR writes what `make test` runs under nbval instead: each student copy with its
exercises filled in by the lesson's solutions and the lesson's stored outputs, where every
exercise first runs as the student gets it (its check must stop with NotImplementedError), and a
last cell recomputes every number the prose quotes (`<!--fill:EXPR-->TEXT<!--/fill-->` in a
markdown cell: `make lessons` writes str(EXPR), evaluated once the lesson has run, as TEXT).

--course DIR writes an nbgrader course (`make course`): each lesson an assignment in
DIR/source/, its solution cells marked as nbgrader solutions and each check cell as an
autograded test worth one point, and an nbgrader_config.py whose stub is the student copies'.
Then `nbgrader generate_assignment LESSON` in DIR makes its release copy.

Usage: python scripts/make_exercises.py [--check | --filled DIR | --course DIR [LESSON ...]]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import nbformat

from fedbbpt_lite.checks import NOT_WRITTEN

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXERCISES = NOTEBOOKS / "exercises"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Your turn: write this part, then run the check below.")'
FILL = re.compile(r"<!--fill:(.*?)-->(.*?)<!--/fill-->", re.S)
EXERCISE_NAME = re.compile(r"^def (\w+)\(", re.M)


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


def fills(nb) -> list[tuple[str, str]]:
    """(expression, text shown) of every fill in the notebook's markdown, in order."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += [(expr.strip(), text) for expr, text in FILL.findall(cell.source)]
    return found


def set_fills(nb, values: list[str]) -> None:
    """Write `values` (one per fill, in order) as the fills' texts."""
    values = iter(values)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = FILL.sub(
                lambda m: f"<!--fill:{m[1]}-->{next(values)}<!--/fill-->", cell.source
            )


def fill_printer(nb) -> str:
    """Code that prints every fill's value, one a line."""
    return "\n".join(f"print({expr})" for expr, _ in fills(nb))


def exercises(nb, name: str = "the lesson") -> list[tuple[str, int, int]]:
    """(exercise function's name, solution cell index, check cell index) of every exercise: a
    code cell with a solution defines the function, the next code cell checks it."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            check = next(
                i for i in range(index + 1, len(nb.cells)) if nb.cells[i].cell_type == "code"
            )
            function = EXERCISE_NAME.search(cell.source)
            if function is None or "fbl.checks.check_" not in nb.cells[check].source:
                raise ValueError(
                    f"{name}: a solution cell must define a function and be followed by its "
                    f"check cell:\n{cell.source}"
                )
            found.append((function[1], index, check))
    return found


def filled_copy(lesson: Path):
    """The student copy run as `make test` runs it (see the module docstring)."""
    nb = nbformat.read(lesson, as_version=4)
    first_run = {}
    for name, solution, check in exercises(nb, lesson.name):
        unwritten = NOT_WRITTEN.format(exercise=name)
        error = nbformat.v4.new_output("error", ename="NotImplementedError", evalue=unwritten)
        source, check_source = nb.cells[solution].source, nb.cells[check].source
        first_run[solution] = [
            nbformat.v4.new_code_cell(strip_solutions(source), execution_count=1),
            nbformat.v4.new_code_cell(
                "# NBVAL_RAISES_EXCEPTION\n" + check_source, execution_count=1, outputs=[error]
            ),
        ]
    cells = []
    for index, cell in enumerate(nb.cells):
        cells += first_run.get(index, []) + [cell]
    quoted = fills(nb)
    if quoted:
        printed = nbformat.v4.new_output(
            "stream", name="stdout", text="".join(t + "\n" for _, t in quoted)
        )
        cells.append(
            nbformat.v4.new_code_cell(fill_printer(nb), execution_count=1, outputs=[printed])
        )
    for cell in cells:  # the lessons are nbformat 4.4, whose cells have no ids
        cell.pop("id", None)
    nb.cells = cells
    return nb


def write_filled(folder: Path) -> int:
    """Write every lesson's filled copy into `folder` (emptied first)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    lessons = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    for lesson in lessons:
        nbformat.write(filled_copy(lesson), folder / lesson.name)
    print(f"{len(lessons)} filled student copies written to {folder}")
    return 0


NBGRADER_CONFIG = f"""# nbgrader's settings for this course, by scripts/make_exercises.py
c = get_config()  # noqa: F821
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
c.Execute.timeout = 600  # seconds per cell: some lessons tune for a minute in one cell
"""


def course_source(lesson: Path):
    """The lesson as an nbgrader source notebook: its solutions and checks marked."""
    nb = nbformat.read(lesson, as_version=4)
    for name, solution, check in exercises(nb, lesson.name):
        common = {"schema_version": 3, "task": False}
        nb.cells[solution].metadata["nbgrader"] = common | {
            "solution": True,
            "grade": False,
            "locked": False,
            "grade_id": name,
        }
        nb.cells[check].metadata["nbgrader"] = common | {
            "solution": False,
            "grade": True,
            "locked": True,
            "points": 1,
            "grade_id": f"check_{name}",
        }
    return nb


def write_course(folder: Path, names: list[str]) -> int:
    """An nbgrader course in `folder`: one assignment per lesson (all, or those named)."""
    lessons = [NOTEBOOKS / name for name in names] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    missing = [lesson.name for lesson in lessons if not lesson.exists()]
    if missing:
        raise SystemExit(f"no such lesson: {missing}")
    for lesson in lessons:
        target = folder / "source" / lesson.stem / lesson.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(course_source(lesson), target)
    (folder / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    print(f"{len(lessons)} assignments written to {folder / 'source'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only report stale copies")
    mode.add_argument("--filled", type=Path, metavar="DIR", help="write the filled copies")
    mode.add_argument("--course", type=Path, metavar="DIR", help="write an nbgrader course")
    parser.add_argument("lessons", nargs="*", help="with --course: lesson file names (default all)")
    args = parser.parse_args()
    if args.lessons and not args.course:
        parser.error("lesson names go with --course only")
    if args.filled:
        return write_filled(args.filled)
    if args.course:
        return write_course(args.course, args.lessons)
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
