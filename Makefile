# The two commands of the README:
#   make run   - simulate the default scenario, settle it on a local Anvil chain, store it in SQLite
#   make test  - lint, type-check and run the whole test suite
# Both install what is missing first (venv, npm packages; system packages for the tests).

SHELL := /bin/bash
VENV := .venv/bin
# make test splits the suite over this many pytest-xdist workers (one per core of the 2-core
# CI machine); tests that share the session's Ray stay on one worker (tests/conftest.py).
# Tests marked `serial` watch the checkout's data/ folder for writes, which the other
# worker's tests would make: they run afterwards, alone.
TEST_WORKERS ?= 2
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
	$(VENV)/pytest -q -n $(TEST_WORKERS) --dist loadgroup -m 'not matrix and not serial'
	$(VENV)/pytest -q -m serial

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(VENV)/python $$b --quick || exit 1; done
