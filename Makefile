# One entry point for every task. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP     := $(VENV)/.dev-stamp

.DEFAULT_GOAL := help
.PHONY: help install run test lint pytest bench drills clean vendor vendor-swagger-ui vendor-console \
        chromium screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

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

# The console's browser tests drive Debian's Chromium (CALLGUARD_CHROMIUM names another). When it
# is missing and apt-get can install it (as root), it is installed here; otherwise the console
# tests fail with one sentence saying how to get it.
CHROMIUM := $(or $(CALLGUARD_CHROMIUM),/usr/bin/chromium)

chromium: ## install Debian's Chromium for the console tests when missing (apt-get, as root)
	@test -x "$(CHROMIUM)" || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Chromium for the console tests (apt-get)" && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	  else echo "no Chromium at $(CHROMIUM), and apt-get cannot install one here" >&2; fi; }

pytest: $(DEV_STAMP) chromium ## the test suite only (embedded PostgreSQL, or TEST_DATABASE_URL), with coverage
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

vendor: vendor-swagger-ui vendor-console ## refresh the vendored Swagger UI and console libraries from npm (X_VERSION=… moves a pin)

vendor-swagger-ui:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd "$$tmp" && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
	 tar -xzf swagger-ui-dist-*.tgz) && \
	for f in $(SWAGGER_UI_FILES); do cp "$$tmp/package/$$f" $(SWAGGER_UI_DIR)/ || exit 1; done && \
	node -p "require('$$tmp/package/package.json').version" > $(SWAGGER_UI_DIR)/VERSION && \
	echo "swagger-ui-dist $$(cat $(SWAGGER_UI_DIR)/VERSION) -> $(SWAGGER_UI_DIR)"

# The console's libraries (app/console/static/vendor/README.md): Preact and its hooks, htm and
# uPlot as ES modules, each beside its LICENSE, its version in VERSION. Preact's hooks import the
# bare name "preact", which a browser cannot resolve without an import map (an inline script, which
# the console's CSP forbids): that import is rewritten to "./preact.mjs" here, and checked.
CONSOLE_VENDOR := app/console/static/vendor
PREACT_VERSION ?= $(shell cat $(CONSOLE_VENDOR)/preact/VERSION)
HTM_VERSION    ?= $(shell cat $(CONSOLE_VENDOR)/htm/VERSION)
UPLOT_VERSION  ?= $(shell cat $(CONSOLE_VENDOR)/uplot/VERSION)
NO_SOURCEMAP   := '/^\/\/\# sourceMappingURL=/d'

vendor-console:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && d=$(CONSOLE_VENDOR) && \
	(cd "$$tmp" && npm pack --silent preact@$(PREACT_VERSION) htm@$(HTM_VERSION) \
	   uplot@$(UPLOT_VERSION) >/dev/null) && \
	for p in preact htm uplot; do \
	  mkdir -p "$$tmp/$$p" "$$d/$$p" && tar -xzf "$$tmp"/$$p-[0-9]*.tgz -C "$$tmp/$$p" && \
	  cp "$$tmp/$$p/package/LICENSE" "$$d/$$p/LICENSE" && \
	  node -p "require('$$tmp/$$p/package/package.json').version" > "$$d/$$p/VERSION" || exit 1; \
	done && \
	sed $(NO_SOURCEMAP) "$$tmp/preact/package/dist/preact.mjs" > "$$d/preact/preact.mjs" && \
	sed -E -e 's#from ?"preact"#from"./preact.mjs"#g' -e $(NO_SOURCEMAP) \
	  "$$tmp/preact/package/hooks/dist/hooks.mjs" > "$$d/preact/hooks.mjs" && \
	if grep -Eq "from ?['\"]preact['\"]" "$$d/preact/hooks.mjs" || \
	   ! grep -q 'from"./preact.mjs"' "$$d/preact/hooks.mjs"; then \
	  echo "vendor: preact/hooks.mjs no longer imports \"preact\" as expected; check it" >&2; \
	  exit 1; fi && \
	cp "$$tmp/htm/package/dist/htm.mjs" "$$d/htm/htm.mjs" && \
	cp "$$tmp/uplot/package/dist/uPlot.esm.js" "$$d/uplot/uPlot.esm.js" && \
	cp "$$tmp/uplot/package/dist/uPlot.min.css" "$$d/uplot/uPlot.min.css" && \
	for p in preact htm uplot; do echo "$$p $$(cat $$d/$$p/VERSION) -> $$d/$$p"; done

screenshots: $(DEV_STAMP) chromium ## the console's pages at 1280x800 into docs/console (demo tenant)
	$(BIN)/python -m tests.console.screenshots docs/console

clean: ## remove .venv and caches (keeps .callguard, the embedded database)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
