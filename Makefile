# territoires — two commands do everything on a fresh machine with Python 3.11 and pip:
#   make demo   install, then build the warehouse from the bundled sample
#   make test   install, then run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

PYTHON ?= python3
# uv from PATH if present, otherwise the one pip installs as a module.
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen --no-sync

.PHONY: help install browser demo test bench build ui clean

help:
	@echo "make demo    install, then build the demo warehouse from the bundled sample"
	@echo "make test    install, then run the tests"
	@echo "make bench   national benchmark (SCALE=national|0.25, RUNS=3): benchmarks/results/"
	@echo "make build   national build from live sources (territoires build)"
	@echo "make ui      Dagster UI on http://127.0.0.1:3000"

.venv/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	$(RUN) python -m pipelines.warehouse.extensions
	@touch $@

install: .venv/.installed

# The atlas's browser tests drive Debian's Chromium (never a downloaded browser build):
# installed with apt when missing (as root, or through sudo without a password).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	    echo "Chromium is missing and cannot be installed without root: apt-get install chromium" >&2; exit 1; fi; \
	  echo "installing Debian's chromium (apt-get)"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(RUN) territoires demo

# Two workers (the builds are mostly single-threaded Python); the longest files start first
# (tests/conftest.py), each file stays on one worker, in its own order.
TEST_WORKERS ?= 2

test: install browser
	$(RUN) pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

# The national benchmark: not part of the tests (it takes a while at national size).
SCALE ?= national
RUNS ?= 3

bench: install
	$(RUN) python -m benchmarks.run --scale $(SCALE) --runs $(RUNS)

build: install
	$(RUN) territoires build

ui: install
	$(RUN) territoires ui

clean:
	rm -rf .venv dbt_project/target
