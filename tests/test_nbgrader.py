"""The exercises as an nbgrader course: `make course` writes it, nbgrader releases the student
copies and autogrades submissions, one point per check cell. Skipped without nbgrader
(pip install -e .[classroom]); CI installs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbgrader")

from nbgrader.api import Gradebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LESSON = "00_start_here"  # the quickest lesson: two exercises


def _nbgrader(course: Path, *arguments: str) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # it runs alembic
    run = subprocess.run(
        [str(BIN / "nbgrader"), *arguments],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def _submit(course: Path, student: str, answers: dict[str, str]) -> None:
    """The released notebook with the given solution cells written, as a student hands it in."""
    release = course / "release" / LESSON / f"{LESSON}.ipynb"
    nb = json.loads(release.read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    folder = course / "submitted" / student / LESSON
    folder.mkdir(parents=True)
    (folder / f"{LESSON}.ipynb").write_text(json.dumps(nb))


def test_nbgrader_releases_the_student_copy_and_grades_one_point_per_check(tmp_path):
    course = tmp_path / "course"
    subprocess.run(
        [sys.executable, "scripts/make_exercises.py", "--course", str(course), f"{LESSON}.ipynb"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    _nbgrader(course, "generate_assignment", LESSON)
    released = json.loads((course / "release" / LESSON / f"{LESSON}.ipynb").read_text())
    ours = json.loads((ROOT / "notebooks" / "exercises" / f"{LESSON}.ipynb").read_text())
    assert [c["source"] for c in released["cells"]] == [c["source"] for c in ours["cells"]]

    source = json.loads((course / "source" / LESSON / f"{LESSON}.ipynb").read_text())
    solutions = {
        cell["metadata"]["nbgrader"]["grade_id"]: cell["source"]
        for cell in source["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }
    assert sorted(solutions) == ["class_counts", "make_prompts"]
    wrong = "def make_prompts(template, class_names):\n    return list(class_names)\n"
    _submit(course, "unwritten", {})
    _submit(course, "solved", solutions)
    _submit(course, "half", solutions | {"make_prompts": wrong})
    _nbgrader(course, "autograde", LESSON, "--create")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {
            student: (gradebook.find_submission(LESSON, student).score)
            for student in ("unwritten", "solved", "half")
        }
        maximum = gradebook.find_submission(LESSON, "solved").max_score
    assert maximum == 2
    assert scores == {"unwritten": 0, "solved": 2, "half": 1}
