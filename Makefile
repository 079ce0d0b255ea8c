# One entry point for every task. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP     := $(VENV)/.dev-stamp

.DEFAULT_GOAL := help
.PHONY: help install run test lint pytest bench drills clean vendor

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

PIP := $(BIN)/pip install --quiet --disable-pip-version-check

# `make run` installs only what the service needs; the dev tools come with the first test run.
$(RUNTIME_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	@touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(PIP) -e '.[dev]'
	@touch $@

install: $(DEV_STAMP) ## create .venv and install callguard with its dev tools

run: $(RUNTIME_STAMP) ## start callguard on the embedded PostgreSQL (or DATABASE_URL)
	$(BIN)/callguard serve

lint: $(DEV_STAMP) ## ruff, mypy --strict, the layer contracts (import-linter), SQL only in repositories
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict app tests bench scripts
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_sql.py

pytest: $(DEV_STAMP) ## the test suite only (embedded PostgreSQL, or TEST_DATABASE_URL), with coverage
	$(BIN)/pytest --cov --cov-report=term:skip-covered

test: lint pytest ## lint, type-check, then the whole test suite

bench: $(DEV_STAMP) ## the benchmarks: DNC import, then checks (results go to docs/BENCHMARKS.md)
	$(BIN)/python bench/dnc_import.py
	$(BIN)/python bench/checks.py

drills: $(DEV_STAMP) ## crash, outage and 10-minute soak drills (results go to docs/RELIABILITY.md)
	$(BIN)/python bench/crash_drill.py
	$(BIN)/python bench/outage_drill.py
	$(BIN)/python bench/soak.py

# Swagger UI for /docs is vendored from npm's swagger-ui-dist (app/static/swagger-ui/README.md).
# Node/npm are needed only to refresh those files, never to install or run callguard.
# `npm pack` fetches the tarball alone: no dependencies installed, no package scripts run.
SWAGGER_UI_DIR     := app/static/swagger-ui
SWAGGER_UI_VERSION ?= $(shell cat $(SWAGGER_UI_DIR)/VERSION)
SWAGGER_UI_FILES   := swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css \
                      favicon-32x32.png LICENSE NOTICE

vendor: ## refresh the vendored Swagger UI from npm (SWAGGER_UI_VERSION=x.y.z moves the pin)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd "$$tmp" && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
	 tar -xzf swagger-ui-dist-*.tgz) && \
	for f in $(SWAGGER_UI_FILES); do cp "$$tmp/package/$$f" $(SWAGGER_UI_DIR)/ || exit 1; done && \
	node -p "require('$$tmp/package/package.json').version" > $(SWAGGER_UI_DIR)/VERSION && \
	echo "swagger-ui-dist $$(cat $(SWAGGER_UI_DIR)/VERSION) -> $(SWAGGER_UI_DIR)"

clean: ## remove .venv and caches (keeps .callguard, the embedded database)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
