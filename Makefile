# Two commands set up everything on a fresh machine with Python 3.11 and pip:
#   make serve   - create .venv, install the service, serve the shipped weights on :8000
#   make test    - create .venv, install everything, run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint typecheck check train bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is installed on its own first and pinned: an unpinned torch pulls the CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/vae-serve

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check app model contract tests bench scripts examples
	$(BIN)/ruff format --check app model contract examples

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# Throughput against the peers, with wrk (by hand; a few minutes). Installs wrk when missing.
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.run

# Retrain the shipped artifacts (about 15 minutes each on 2 CPU cores, plus evaluation).
train: $(STAMP)
	. $(BIN)/activate && scripts/train-shipped.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
