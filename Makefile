# The two commands of the README:
#   make run   - simulate the default scenario, settle it on a local Anvil chain, store it in SQLite
#   make test  - lint, type-check and run the whole test suite
# Both install what is missing first (venv, npm packages; system packages for the tests).

SHELL := /bin/bash
VENV := .venv/bin
# Scratch stays in the git-ignored data/ folder: Ray and torch are pointed there by
# agents.learning.ray_session.configure_scratch, Anvil by ledger.chain.anvil.
export MPLCONFIGDIR := $(CURDIR)/data/mpl

.PHONY: run test setup lint bench

setup:
	@scripts/setup.sh python npm contracts

run: setup
	$(VENV)/edgemarket run

test: setup
	@scripts/setup.sh system
	$(VENV)/ruff check .
	$(VENV)/mypy
	$(VENV)/pytest -q

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(VENV)/python $$b --quick || exit 1; done
