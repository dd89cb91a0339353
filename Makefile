# Handoff Health task runner. CI runs `make test` and `make lint`, exactly as a developer does.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DB ?= data/demo.duckdb
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help setup chromium demo test test-fast lint format bench bench-pages bench-analysis bench-review bench-spark clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) chromium ## Create the environment (.venv) and install Debian chromium for browser tests

chromium: ## Install Debian's chromium when it is missing (browser tests drive /usr/bin/chromium)
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium (apt-get)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

demo: $(STAMP) ## Generate the demo database if missing, then serve the app on http://127.0.0.1:8501
	$(BIN)/handoff demo --db $(DB) --port $(PORT)

test: setup ## Run every test (unit, AppTest and real-browser tests), on up to 4 cores
	$(BIN)/pytest -q -n auto --maxprocesses=4 --dist loadgroup

test-fast: $(STAMP) ## The inner loop: every test except the real-browser ones, on all cores
	$(BIN)/pytest -q -m "not e2e" -n auto --maxprocesses=4 --dist loadgroup

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Format and fix imports in place
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## Print benchmark figures (generate, import, analysis, pages); BENCH_LEADS=1000000 by default
	$(BIN)/python -m tests.bench

bench-analysis: $(STAMP) ## Analysis functions direct vs journey tables on an existing BENCH_DIR database
	BENCH_SECTIONS=analysis $(BIN)/python -m tests.bench

bench-pages: chromium $(STAMP) ## Page table (cold, warm, headline, after filter, ÷ floor, RSS); BENCH_PAGES=/,/funnel limits it
	BENCH_SECTIONS=pages $(BIN)/python -m tests.bench

bench-review: chromium $(STAMP) ## Monthly review page and month changes (warmed, not warmed) on BENCH_DIR's database
	BENCH_SECTIONS=review $(BIN)/python -m tests.bench

bench-spark: $(STAMP) ## Headline metrics on DuckDB vs Spark local[2]; BENCH_SPARK_LEADS=1000000,10000000 by default
	BENCH_SECTIONS=spark $(BIN)/python -m tests.bench

clean: ## Remove the environment and generated data
	rm -rf $(VENV) data/*.duckdb data/*.truth.json artifacts
