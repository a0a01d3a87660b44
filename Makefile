# The two commands of the README's quick start:
#   make demo   makes .venv, installs mlpctl with its dependencies, trains configs/xor.yaml
#   make test   makes .venv if missing, installs the test extras, lints (ruff) and type-checks (mypy) mlpctl,
#               runs the whole test suite
# and for development: make test-fast   the suite without the tests marked slow
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
# test processes at once (pytest-xdist); the suite is sized for a 2-core machine
TEST_JOBS ?= 2
BIN := $(VENV)/bin

.PHONY: demo test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/mlpctl train configs/xor.yaml

test: $(VENV)/.installed-test
	$(BIN)/ruff check mlpctl
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_JOBS)

test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(TEST_JOBS) -m "not slow"

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/compare.py --write bench/RESULTS.md

clean:
	rm -rf $(VENV) runs .pytest_cache
