"""Execute the lessons headlessly in the pinned environment.

--in-place   regenerate the lessons' stored outputs and the numbers their prose quotes (fills,
             see make_exercises.py), then the student copies: `make lessons`
--report F   run the lessons without touching the files and write a short Markdown report of
             what each lesson computed and how long it took
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from make_exercises import fill_printer, fills, set_fills
from nbclient import NotebookClient
from nbval.plugin import find_comment_markers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


class LessonClient(NotebookClient):
    """Runs every cell except the `# NBVAL_SKIP` scale-up cells, which keep no output."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type == "code" and dict(find_comment_markers(cell.source)).get("skip"):
            cell.outputs, cell.execution_count = [], None
            return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)


def execute(path: Path) -> tuple[nbformat.NotebookNode, float]:
    """Run one lesson top to bottom in a fresh kernel, then fill in the numbers its prose
    quotes; return it with its wall time."""
    nb = nbformat.read(path, as_version=4)
    quoted = fills(nb)
    if quoted:
        nb.cells.append(nbformat.v4.new_code_cell(fill_printer(nb)))
    start = time.perf_counter()
    LessonClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOKS / "exercises")}},  # where students run
    ).execute()
    if quoted:
        printed = "".join(o.get("text", "") for o in nb.cells.pop().outputs).splitlines()
        if len(printed) != len(quoted):
            raise ValueError(f"{path.name}: {len(quoted)} fills, but {len(printed)} lines printed")
        set_fills(nb, printed)
    for cell in nb.cells:  # stored lessons carry no timestamps
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merged_streams(cell.outputs)
    nb.metadata.pop("widgets", None)  # widget state: model ids that change every run
    return nb, time.perf_counter() - start


def merged_streams(outputs: list) -> list:
    """Join consecutive prints to the same stream, which arrive in timing-dependent chunks."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def printed_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Everything the lesson's cells printed to stdout, in order."""
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                lines.extend(output["text"].rstrip("\n").splitlines())
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--in-place", action="store_true")
    mode.add_argument("--report", type=Path)
    parser.add_argument("lessons", nargs="*", help="lesson file names (default: all)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    names = args.lessons or sorted(p.name for p in NOTEBOOKS.glob("[0-9]*.ipynb"))
    sections, total = [], 0.0
    for name in names:
        nb, seconds = execute(NOTEBOOKS / name)
        total += seconds
        print(f"{name}: {seconds:.1f} s", flush=True)
        if args.in_place:
            nbformat.write(nb, NOTEBOOKS / name)
        else:
            lines = "\n".join(printed_lines(nb))
            sections.append(f"## {name} ({seconds:.1f} s)\n\n```\n{lines}\n```\n")
    print(f"all lessons: {total:.1f} s")
    if args.in_place:
        return subprocess.call([sys.executable, str(ROOT / "scripts" / "make_exercises.py")])
    args.report.parent.mkdir(parents=True, exist_ok=True)
    header = f"# What the lessons computed\n\nAll lessons ran in {total:.1f} s.\n\n"
    args.report.write_text(header + "\n".join(sections))
    print(f"report written to {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
