"""Refresh the generated sections of the teacher's guide (notebooks/TEACHERS_GUIDE.md).

Two sections come from their sources, so they cannot drift from them: every lesson's Discussion
questions with the answers collapsed under them in the lesson, and the mistakes each exercise's
checker recognises (fedbbpt_lite.checks), in lesson order. The rest of the guide is written by
hand. Usage: python scripts/make_guide.py [--check]   (--check: fail if the guide is stale)
"""

from __future__ import annotations

import argparse
import re
import sys

import nbformat
from make_exercises import NOTEBOOKS, exercises

from fedbbpt_lite.checks import EXERCISES as MISTAKES

GUIDE = NOTEBOOKS / "TEACHERS_GUIDE.md"
SECTION = re.compile(r"(<!-- generated: (\w+) -->\n).*?(<!-- end generated -->)", re.S)
ANSWERS = re.compile(r"<summary>Answers to the discussion</summary>\n(.*?)</details>", re.S)


def _lessons():
    for path in sorted(NOTEBOOKS.glob("[0-9]*.ipynb")):
        yield path, nbformat.read(path, as_version=4)


def _title(nb) -> str:
    return nb.cells[0].source.splitlines()[0].lstrip("# ").strip()


def discussion() -> str:
    """Each lesson's Discussion questions, then the answers its notebook collapses."""
    parts = []
    for path, nb in _lessons():
        cell = next(c.source for c in nb.cells if "## Discussion" in c.source)
        text = cell[cell.index("## Discussion") + len("## Discussion") :]
        questions = text[: text.index("<details>")].strip()
        answers = ANSWERS.search(text)
        if answers is None:
            raise ValueError(f"{path.name}: the Discussion has no collapsed answers")
        parts.append(
            f"### {_title(nb)}\n\n**Questions**\n\n{questions}\n\n"
            f"**Answers**\n\n{answers[1].strip()}\n"
        )
    return "\n".join(parts)


def mistakes() -> str:
    """The mistakes each exercise's checker names, exercise by exercise."""
    parts = []
    for path, nb in _lessons():
        for name, _, _ in exercises(nb, path.name):
            rows = "\n".join(
                f"| `{key}` | {mistake.concept.replace('{detail}', '…')} |"
                for key, mistake in MISTAKES[name].items()
            )
            header = "| mistake | what the check says |\n|---|---|"
            parts.append(f"**`{name}`** ({_title(nb)})\n\n{header}\n{rows}\n")
    return "\n".join(parts)


def refreshed(text: str) -> str:
    builders = {"discussion": discussion, "mistakes": mistakes}
    return SECTION.sub(lambda m: f"{m[1]}\n{builders[m[2]]()}\n{m[3]}", text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report a stale guide")
    args = parser.parse_args()
    text = GUIDE.read_text()
    new = refreshed(text)
    if args.check:
        if new != text:
            print(f"{GUIDE} is stale: run make exercises")
            return 1
        print("the teacher's guide is up to date")
        return 0
    GUIDE.write_text(new)
    print(f"generated sections of {GUIDE.name} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
