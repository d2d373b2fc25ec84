# The two commands of the README:
#   make run   - simulate the default scenario, settle it on a local Anvil chain, store it in SQLite
#   make test  - lint, type-check and run the whole test suite
# Both install what is missing first (venv, npm packages; system packages for the tests).

SHELL := /bin/bash
VENV := .venv/bin
# Keep Ray, torch and other scratch inside the project (git-ignored data/ folder).
export RAY_TMPDIR := $(CURDIR)/data/ray
export TORCHINDUCTOR_CACHE_DIR := $(CURDIR)/data/torch
export RAY_AUTH_MODE := disabled
export MPLCONFIGDIR := $(CURDIR)/data/mpl

.PHONY: run test setup lint bench

setup:
	@scripts/setup.sh python npm

run: setup
	$(VENV)/edgemarket run

test: setup
	@scripts/setup.sh system
	$(VENV)/ruff check .
	$(VENV)/mypy
	$(VENV)/pytest -q

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(VENV)/python $$b --quick || exit 1; done
