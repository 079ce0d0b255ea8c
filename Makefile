# One entry point for every task. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install run test lint pytest bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install callguard with its dev tools

run: $(STAMP) ## start callguard on the embedded PostgreSQL (or DATABASE_URL)
	$(BIN)/callguard serve

lint: $(STAMP) ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict app

pytest: $(STAMP) ## the test suite only (embedded PostgreSQL, or TEST_DATABASE_URL)
	$(BIN)/pytest

test: lint pytest ## lint, type-check, then the whole test suite

bench: $(STAMP) ## run every benchmark script in bench/ (results go to docs/BENCHMARKS.md)
	@set -e; found=0; for script in bench/*.py; do \
	  [ -e "$$script" ] || continue; found=1; echo "== $$script"; $(BIN)/python "$$script"; \
	done; [ $$found = 1 ] || echo "no benchmark scripts in bench/ yet"

clean: ## remove .venv and caches (keeps .callguard, the embedded database)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
