# Two commands do everything on a fresh machine (each makes its own environment):
#   make demo   - install, seed the embedded SQLite database with the synthetic example users, score them
#                 with the shipped lexical-ridge model, write results to demo-out/, and serve the dashboard
#   make test   - install everything the tests need and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test wheel-check lint typecheck bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[server]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(PIP) install "torch==2.13.0"
	$(PIP) install -e ".[server,transformer,teacher-local,ray,dev]"
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/phqwatch demo --out demo-out

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

# Build the wheel, install it with the server extra in a fresh venv outside the source tree, run the demo there.
wheel-check: $(VENV)/.test-installed
	bash .ci/wheel-check $(BIN)/python

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# mypy on src/phqwatch with the settings in pyproject.toml ([tool.mypy]).
typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/bench_default.py

# Pin every runtime + test dependency with hashes (uv from PyPI). Keeps existing pins where they still fit;
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release. `.ci/audit_lock.py` audits the pins.
LOCK_EXTRAS := server transformer teacher-local ray dev
lock: | $(BIN)/python
	$(PIP) install "uv>=0.5"
	$(BIN)/uv pip compile pyproject.toml $(addprefix --extra ,$(LOCK_EXTRAS)) --generate-hashes \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 $(LOCK_FLAGS) -o requirements.lock

clean:
	rm -rf $(VENV) demo-out .pytest_cache
