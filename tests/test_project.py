"""Project hygiene: student copies, pinned environments, stored lesson outputs, seeding."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbval.plugin import find_comment_markers

import fedbbpt_lite as fbl

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXERCISES = NOTEBOOKS / "exercises"
LESSONS = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[^\s=;,]+$")


def _load_make_exercises():
    path = ROOT / "scripts" / "make_exercises.py"
    spec = importlib.util.spec_from_file_location("make_exercises", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_exercises = _load_make_exercises()


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_there_are_lessons():
    assert len(LESSONS) >= 3, LESSONS


# ------------------------------------------------------------------ (a, b) student copies


@pytest.mark.parametrize("script", ["make_exercises.py", "make_guide.py"])
def test_generated_student_copies_and_teachers_guide_are_in_sync(script):
    result = subprocess.run(
        [sys.executable, f"scripts/{script}", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_student_copy_matches_its_lesson_without_solutions(lesson):
    copy = EXERCISES / lesson.name
    assert copy.exists(), f"missing student copy {copy}"
    original = nbformat.read(lesson, as_version=4)
    student = nbformat.read(copy, as_version=4)
    # (lesson 00's markdown names the markers to explain them; no code may contain them)
    for index, cell in enumerate(_code_cells(student)):
        assert BEGIN not in cell.source and END not in cell.source, f"code cell {index}"
    assert len(student.cells) == len(original.cells)
    solved = 0
    for index, (mine, theirs) in enumerate(zip(original.cells, student.cells, strict=True)):
        assert mine.cell_type == theirs.cell_type, f"cell {index}"
        if mine.cell_type != "code":
            assert mine.source == theirs.source, f"cell {index}"
            continue
        assert theirs.outputs == [] and theirs.execution_count is None, f"cell {index}"
        if BEGIN in mine.source:
            solved += 1
            assert "raise NotImplementedError" in theirs.source, f"cell {index} has no stub"
            compile(theirs.source, f"{copy.name}[cell {index}]", "exec")  # still valid Python
        else:
            assert mine.source == theirs.source, f"cell {index} changed outside a solution"
    assert solved >= 1, f"{lesson.name} has no exercise"


def test_every_student_copy_has_a_lesson():
    assert sorted(p.name for p in EXERCISES.glob("*.ipynb")) == [p.name for p in LESSONS]


# ------------------------------------------------------------------ (c) strip_solutions


def test_strip_solutions_keeps_the_indentation():
    source = "\n".join(
        [
            "def f(x):",
            "    y = 1",
            "    ### BEGIN SOLUTION",
            "    if x:",
            "        return x + y",
            "    return y",
            "    ### END SOLUTION",
            "",
            "class A:",
            "    def g(self):",
            "        ### BEGIN SOLUTION",
            "        return 2",
            "        ### END SOLUTION",
            "print(f(1))",
        ]
    )
    stub = make_exercises.STUB
    assert make_exercises.strip_solutions(source).splitlines() == [
        "def f(x):",
        "    y = 1",
        "    " + stub,
        "",
        "class A:",
        "    def g(self):",
        "        " + stub,
        "print(f(1))",
    ]
    assert "NotImplementedError" in stub


def test_strip_solutions_leaves_cells_without_markers_alone():
    source = "import numpy as np\n\nx = np.zeros(3)\nprint(x)"
    assert make_exercises.strip_solutions(source) == source


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    ### BEGIN SOLUTION\n    return 1",
        "def f():\n    return 1\n    ### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
        "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### END SOLUTION",
    ],
    ids=["begin-without-end", "end-without-begin", "nested-begin", "extra-end"],
)
def test_strip_solutions_rejects_unmatched_markers(source):
    with pytest.raises(ValueError, match="SOLUTION"):
        make_exercises.strip_solutions(source)


# ------------------------------------------------------------------ (d) pinned environments


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].strip()
    return text


def _without_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    return re.split(r"\s+#", line, maxsplit=1)[0].rstrip()


def parse_environment_yml(text: str) -> tuple[list[str], list[str]]:
    """(conda dependencies, pip dependencies) of a conda environment file, parsed by lines.

    Understands the subset written by hand: a top-level `dependencies:` block sequence whose
    items are strings, one of which may be a `- pip:` mapping holding a nested sequence.
    """
    conda: list[str] = []
    pip: list[str] = []
    in_dependencies = False
    deps_indent = None
    pip_indent = None
    for raw in text.splitlines():
        line = _without_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        item = line.strip()
        if indent == 0 and not item.startswith("- "):
            in_dependencies = item.split(":")[0].strip() == "dependencies"
            deps_indent = pip_indent = None
            continue
        if not in_dependencies or not item.startswith("-"):
            continue
        if pip_indent is not None and indent > pip_indent:
            pip.append(_unquote(item[1:]))
            continue
        pip_indent = None
        if deps_indent is None:
            deps_indent = indent
        if indent != deps_indent:
            continue
        entry = _unquote(item[1:])
        if entry.replace(" ", "") == "pip:":
            pip_indent = indent
        else:
            conda.append(entry)
    return conda, pip


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        if PIN.match(line):
            name, version = line.split("==")
            assert name.lower() not in pins, f"{name} pinned twice"
            pins[name.lower()] = f"{name}=={version}"
    return pins


def _requirement_lines() -> list[str]:
    text = (ROOT / "requirements.txt").read_text()
    return [line.strip() for line in map(_without_comment, text.splitlines()) if line.strip()]


def test_environment_parser_reads_the_expected_format():
    text = """# conda env
name: fedbbpt-lite
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip  # the installer
  - pip:
      - numpy==2.4.6
      - "torch==2.13.0"
      # a comment
      - pandas==3.1.1
variables:
  HF_HUB_OFFLINE: "1"
"""
    assert parse_environment_yml(text) == (
        ["python=3.11", "pip"],
        ["numpy==2.4.6", "torch==2.13.0", "pandas==3.1.1"],
    )
    flush_left = "dependencies:\n- python=3.11\n- pip\n- pip:\n  - numpy==2.4.6\n"
    assert parse_environment_yml(flush_left) == (["python=3.11", "pip"], ["numpy==2.4.6"])


def test_requirements_pin_every_line():
    lines = _requirement_lines()
    assert lines, "requirements.txt is empty"
    unpinned = [line for line in lines if not PIN.match(line) and not line.startswith("-")]
    assert not unpinned, f"requirements.txt lines that are not name==version: {unpinned}"


def test_environment_yml_agrees_with_requirements():
    path = ROOT / "environment.yml"
    assert path.exists(), "environment.yml is missing: conda users need the same pins"
    conda, pip = parse_environment_yml(path.read_text())
    assert "python=3.11" in conda, f"conda dependencies should pin python=3.11, got {conda}"
    assert "pip" in conda, f"conda dependencies should include pip, got {conda}"
    assert pip, "environment.yml has no `- pip:` list"
    required, listed = _pins(_requirement_lines()), _pins(pip)
    missing = sorted(set(required.values()) - set(listed.values()))
    extra = sorted(set(listed.values()) - set(required.values()))
    assert not missing, f"pinned in requirements.txt but not in environment.yml: {missing}"
    assert not extra, f"pinned in environment.yml but not in requirements.txt: {extra}"


# ------------------------------------------------------------------ (e) lesson notebooks


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_lesson_has_clean_stored_outputs(lesson):
    nbformat.validate(nbformat.read(lesson, as_version=4))  # nbgrader refuses invalid notebooks
    cells = _code_cells(nbformat.read(lesson, as_version=4))
    assert any(cell.execution_count for cell in cells), "run the lesson: `make lessons`"
    for index, cell in enumerate(cells):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"code cell {index} stored an error: {errors[0].get('ename')}"


def _skipped(cell) -> bool:
    """A `# NBVAL_SKIP` scale-up cell, by nbval's own reading of the markers."""
    return bool(dict(find_comment_markers(cell.source)).get("skip"))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_lesson_outputs_come_from_one_top_to_bottom_run(lesson):
    cells = _code_cells(nbformat.read(lesson, as_version=4))
    counts = [cell.execution_count for cell in cells if not _skipped(cell)]
    assert counts == list(range(1, len(counts) + 1)), f"re-run the lesson in order: {counts}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_scale_up_cells_are_not_run_and_say_how_long_they_take(lesson):
    for cell in filter(_skipped, _code_cells(nbformat.read(lesson, as_version=4))):
        comments = [line for line in cell.source.splitlines() if line.startswith("#")]
        assert any(re.search(r"about \d+ (s|seconds|minutes?)\b", line) for line in comments), (
            f"state the expected runtime in a comment of the NBVAL_SKIP cell: {comments}"
        )
        assert not cell.outputs and cell.execution_count is None, "scale-up cells store no output"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_long_jobs_wait_for_the_reader_to_set_a_flag_in_the_cell(lesson):
    for index, cell in enumerate(_code_cells(nbformat.read(lesson, as_version=4))):
        comments = "\n".join(line for line in cell.source.splitlines() if line.startswith("#"))
        if re.search(r"about \d+ minutes?\b", comments):
            assert "RUN_LONG = False" in cell.source and "if RUN_LONG:" in cell.source, (
                f"code cell {index} runs for minutes: guard it with RUN_LONG = False in the cell"
            )


KIT_FOLDERS = re.compile(r"""["'](benchmarks|examples|scripts|data|notebooks)/""")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_lessons_reach_kit_files_through_the_package(lesson):
    # Students run their copies from notebooks/exercises/: a path relative to the working
    # directory points elsewhere there. fbl.paths.kit_path finds the kit's files from anywhere.
    for index, cell in enumerate(_code_cells(nbformat.read(lesson, as_version=4))):
        assert "../" not in cell.source, f"code cell {index} uses a '../' path"
        for match in KIT_FOLDERS.finditer(cell.source):
            before = cell.source[max(0, match.start() - 30) : match.start()]
            assert "kit_path(" in before, f"code cell {index} names {match[0]} outside kit_path"


def _prose(markdown: str) -> str:
    """Markdown without fills, formulas, code and the quiz (whose numbers are made up)."""
    text = make_exercises.FILL.sub(" ", markdown.split("## Quiz")[0])
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", " ", text, flags=re.S)
    return text


DECIMAL = re.compile(r"(?<![\w.(])\d+\.\d+(?![\w.])")  # not settings such as Dirichlet(0.5)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_prose_quotes_results_only_through_fills(lesson):
    # A result typed into the prose goes stale when the lesson is rerun; a fill is rewritten by
    # `make lessons` and checked by nbval. So no decimal number the lesson prints may be typed.
    nb = nbformat.read(lesson, as_version=4)
    printed = set()
    for cell in _code_cells(nb):
        for output in cell.outputs:
            text = output.get("text", "") + output.get("data", {}).get("text/plain", "")
            printed |= set(DECIMAL.findall(text))
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            typed = set(DECIMAL.findall(_prose(cell.source))) & printed
            assert not typed, f"cell {index} types printed results {sorted(typed)}: use fills"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_the_aim_states_the_bill_from_the_lesson_itself(lesson):
    aim = nbformat.read(lesson, as_version=4).cells[0].source
    line = aim[aim.index("Black-box queries spent in this lesson") :]
    assert line.startswith("Black-box queries spent in this lesson: 0.") or "<!--fill:" in line, (
        "fill the Aim's bill from the bill cell"
    )


def test_fills_are_found_and_rewritten_in_order():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "a <!--fill:x-->1<!--/fill--> b <!--fill: f'{y:.2f}' -->2<!--/fill-->"
        ),
        nbformat.v4.new_code_cell("x = 3"),
        nbformat.v4.new_markdown_cell("c <!--fill:x + 1-->old<!--/fill-->"),
    ]
    assert make_exercises.fills(nb) == [("x", "1"), ("f'{y:.2f}'", "2"), ("x + 1", "old")]
    make_exercises.set_fills(nb, ["3", "0.50", "4"])
    assert make_exercises.fills(nb) == [("x", "3"), ("f'{y:.2f}'", "0.50"), ("x + 1", "4")]
    assert make_exercises.fill_printer(nb) == "print(x)\nprint(f'{y:.2f}')\nprint(x + 1)"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_the_filled_copy_first_runs_each_exercise_unwritten_then_checks_the_fills(lesson):
    original = nbformat.read(lesson, as_version=4)
    filled = make_exercises.filled_copy(lesson)
    nbformat.validate(filled)
    solutions = [c for c in original.cells if c.cell_type == "code" and BEGIN in c.source]
    raising = [c for c in filled.cells if "# NBVAL_RAISES_EXCEPTION" in c.source]
    assert len(raising) == len(solutions) >= 1
    for cell in raising:
        (error,) = cell.outputs
        assert error.ename == "NotImplementedError" and "is not written yet" in error.evalue
        stub = filled.cells[filled.cells.index(cell) - 1]
        assert make_exercises.STUB in stub.source
    quoted = make_exercises.fills(original)
    if quoted:
        last = filled.cells[-1]
        assert last.source == make_exercises.fill_printer(original)
        assert last.outputs[0].text == "".join(text + "\n" for _, text in quoted)
    lesson_cells = [
        c for c in filled.cells if c not in raising and make_exercises.STUB not in c.source
    ]
    assert lesson_cells[: len(original.cells)] == original.cells


def test_nbval_runs_filled_copies_from_the_student_folder_without_the_venv_on_path(tmp_path):
    # conftest.py starts the kernel of a notebook in build/student_copies/ as `make lab` would.
    copies = ROOT / "build" / "student_copies"
    copies.mkdir(parents=True, exist_ok=True)
    probe = copies / f"probe_{os.getpid()}.ipynb"
    source = (
        "import os, shutil, sys\n"
        "from pathlib import Path\n"
        "print(Path.cwd().parts[-2:])\n"
        "print(str(Path(sys.executable).parent) in os.environ['PATH'].split(os.pathsep))\n"
    )
    expected = "('notebooks', 'exercises')\nFalse\n"
    output = nbformat.v4.new_output("stream", name="stdout", text=expected)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source, execution_count=1, outputs=[output])]
    )
    nbformat.write(nb, probe)
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:xdist",
                "--nbval",
                "--nbval-current-env",
                str(probe),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        probe.unlink()
    assert run.returncode == 0, run.stdout[-3000:]


def test_kit_path_finds_kit_files_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert fbl.paths.kit_path("benchmarks/results/dp_cost/runs.jsonl").is_file()
    assert fbl.paths.kit_path("examples/flower_app").is_dir()
    with pytest.raises(FileNotFoundError, match="benchmarks/results/nothing.jsonl"):
        fbl.paths.kit_path("benchmarks/results/nothing.jsonl")
    with pytest.raises(ValueError, match="relative"):
        fbl.paths.kit_path("../outside")
    with pytest.raises(ValueError, match="relative"):
        fbl.paths.kit_path("/etc/passwd")
    with pytest.raises(TypeError, match="relative"):
        fbl.paths.kit_path(3)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_lesson_code_style(lesson):
    cells = _code_cells(nbformat.read(lesson, as_version=4))
    assert cells, "a lesson needs code"
    for index, cell in enumerate(cells):
        lines = cell.source.rstrip().splitlines()
        assert not (lines and lines[-1].rstrip().endswith(";")), (
            f"code cell {index} hides its output with ';' (use plt.show() or `_ =`)"
        )
        assert "sys.path" not in cell.source, f"code cell {index} edits sys.path"
    sources = [cell.source for cell in cells]
    imports = [line.strip() for source in sources for line in source.splitlines()]
    assert "import fedbbpt_lite as fbl" in imports
    other = [line for line in imports if re.match(r"(from|import) fedbbpt_lite\b", line)]
    assert set(other) == {"import fedbbpt_lite as fbl"}, f"import the package one way: {other}"
    assert "fbl.set_seed(" in sources[0], "the first code cell should call fbl.set_seed(...)"


# ------------------------------------------------------------------ (f) environment check


def test_environment_check_is_all_ok():
    items = fbl.environment.check()
    assert items and all(isinstance(what, str) for what, _ in items)
    missing = [what for what, ok in items if not ok]
    assert not missing, f"environment check failed for: {missing}"
    report = fbl.environment.report().splitlines()
    assert len(report) == len(items)
    assert all(line.startswith("ok") for line in report)


# ------------------------------------------------------------------ (g) seeding


def test_set_seed_returns_a_generator():
    assert isinstance(fbl.set_seed(0), np.random.Generator)


def test_set_seed_makes_every_library_repeatable():
    def draws(seed):
        rng = fbl.set_seed(seed)
        return (
            rng.standard_normal(4),
            np.random.rand(4),
            torch.rand(4),
            [random.random() for _ in range(4)],
        )

    first, again, other = draws(7), draws(7), draws(8)
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert not np.array_equal(np.asarray(a), np.asarray(c))


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0", None])
def test_set_seed_rejects_bad_seeds(seed):
    with pytest.raises((TypeError, ValueError), match="seed"):
        fbl.set_seed(seed)


def test_data_readme_lists_every_committed_checksum():
    readme = (ROOT / "data" / "README.md").read_text()
    manifest = json.loads((ROOT / "data" / "vision" / "manifest.json").read_text())
    manifest |= json.loads((ROOT / "data" / "text" / "manifest.json").read_text())
    for name, info in manifest.items():
        assert info["sha256"] in readme, f"data/README.md lacks the checksum of {name}"
    for weights in ("miniclip/miniclip.safetensors", "encoder/autoencoder.safetensors"):
        digest = hashlib.sha256((ROOT / "data" / weights).read_bytes()).hexdigest()
        assert digest in readme, f"data/README.md lacks the checksum of {weights}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lessons_reach_the_kit_by_top_level_names_or_one_module_below(lesson):
    """fbl.name or fbl.module.name: never a module two levels down, and no aliases of one."""
    import types

    for index, cell in enumerate(_code_cells(nbformat.read(lesson, as_version=4))):
        for chain in re.findall(r"\bfbl((?:\.\w+)+)", cell.source):
            found = fbl
            for depth, name in enumerate(chain.strip(".").split(".")[:2]):
                found = getattr(found, name)
                deep = depth == 1 and isinstance(found, types.ModuleType)
                assert not deep, f"{lesson.name} cell {index}: fbl{chain} is two modules deep"


def _package_imports() -> dict[str, set[str]]:
    """{module: the kit's modules it imports}, from every `from ... import` in its source
    (inside functions too); `from . import zo` names the module zo, not the package."""
    import ast

    package = Path(fbl.__file__).parent
    modules = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if target not in modules:
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & set(modules)
            graph[name] |= subs | ({target} if len(subs) < len(node.names) else set())
            graph[name].discard(name)
    return graph


def test_the_package_has_no_import_cycles():
    graph = _package_imports()
    assert "fedbbpt_lite.datasets.base" in graph["fedbbpt_lite.datasets.blackvip"]
    done, active = set(), []

    def visit(name):
        if name in active:
            raise AssertionError("import cycle: " + " -> ".join([*active, name]))
        if name not in done:
            active.append(name)
            for imported in sorted(graph[name]):
                visit(imported)
            active.pop()
            done.add(name)

    for name in sorted(graph):
        visit(name)
