# Zugong — the two commands: `make run` (whole platform, one process) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help uv deps system-deps run test test-unit lint format schemas kafka bench clean

help:
	@echo "make run      start the whole platform (embedded: one process, SQLite, no broker);"
	@echo "             on an empty store it loads the demo year (ZUGONG_DEMO=0 make run: empty)"
	@echo "make test     install what is missing and run the whole suite (real Kafka + PostgreSQL)"
	@echo "make lint     ruff"
	@echo "make schemas  regenerate contracts/schemas from the event models"
	@echo "make kafka    run a local Kafka broker in the foreground"
	@echo "make bench    benchmarks with their baselines: prints a table, writes BENCHMARKS.md"

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv>=0.5"

deps: uv
	@$(UV) sync --frozen --quiet

system-deps:
	@bash infra/ensure-system-deps.sh

run: deps
	@$(UV) run --frozen zugong run

test: system-deps deps
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

test-unit: deps
	@$(UV) run --frozen pytest tests/unit tests/contract $(PYTEST_ARGS)

lint: deps
	@$(UV) run --frozen ruff check .

format: deps
	@$(UV) run --frozen ruff format .

schemas: deps
	@$(UV) run --frozen zugong contracts export

kafka: deps system-deps
	@$(UV) run --frozen zugong kafka start

bench: system-deps uv
	@$(UV) run --frozen --group bench python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache
