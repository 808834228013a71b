# The commands of the README: `make run`, `make test`, `make lint`, `make bench` and
# `make bench-smoke`.
# Each creates the virtualenv and installs the project on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench bench-smoke

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ingest dev

test: $(STAMP)
	$(BIN)/python -m pytest

# Style and types, as configured in pyproject.toml (ruff's rules, mypy's files).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The benchmark (bench/README.md; a recorded run in bench/RESULTS.md): needs wrk and pgbench.
bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python -m bench

# The same code at tiny sizes, in seconds (uses a Python loader where wrk is missing).
bench-smoke: $(STAMP)
	$(BIN)/python -m bench --smoke
