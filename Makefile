# Every target creates .venv and installs what it needs, so on a fresh machine
# `make test` and `make demo` are the whole set-up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.arbkit-installed

.PHONY: install test lint format demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format src tests examples benchmarks
	$(VENV)/bin/ruff check --fix src tests examples benchmarks

# The PolyMix service in paper mode on both sandboxes, with a scenario that moves and resolves:
# http://127.0.0.1:5001 (Ctrl-C stops everything). DEMO_ARGS="--time-scale 0.5" resolves games sooner.
demo: $(STAMP)
	$(PY) -m examples.demo $(DEMO_ARGS)

# Every benchmark, each next to its baseline measured in the same run (the official SDKs,
# installed by the dev extra, are among the baselines); prints one table.
bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
