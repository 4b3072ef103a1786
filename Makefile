# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= examples/gulf-partnership.yaml
OUT ?= out/gulf-partnership

.PHONY: run test test-slow test-all install dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

run: install
	$(BIN)/infraplan run $(SCENARIO) --out $(OUT)

lint: dev
	$(BIN)/ruff check infraplan tests benchmarks
	$(BIN)/mypy infraplan

# the fast suite (under 3 minutes); tests marked slow run in CI (.ci/run) and in test-all
test: lint
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: dev
	$(BIN)/python -m pytest -q -m slow

test-all: lint
	$(BIN)/python -m pytest -q

bench: dev
	$(BIN)/python benchmarks/perf_accuracy.py
	$(BIN)/python benchmarks/planner_scale.py

clean:
	rm -rf out build *.egg-info .pytest_cache .ruff_cache
