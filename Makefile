# Two commands do everything on a fresh machine (each makes its own environment):
#   make demo   - install, seed the embedded SQLite database with the synthetic example users, score them
#                 with the shipped CPU model, write results to demo-out/, and serve the dashboard
#   make test   - install everything the tests need and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint bench clean

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

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/bench_default.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
