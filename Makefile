# «Моя школа» portal: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
EMULATOR_PORT ?= 8001
WORKERS ?= 2
# The demo and the commands below run in development unless the environment says otherwise.
export PORTAL_ENV ?= development
FLASK  := $(BIN)/flask --app wsgi

.PHONY: install lock translations check-translations system-deps axe migrate demo test test-pg test-browser qa-report lint format bench image image-test stack stack-dev stack-down stack-test clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml requirements-dev.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

## make lock: both lock files from pyproject.toml, with hashes, by uv (versions kept unless
## pyproject.toml asks otherwise; UPGRADE=1 takes the newest the pins allow)
LOCK := $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --universal \
	--python-version 3.11 $(if $(UPGRADE),--upgrade,) \
	--custom-compile-command "make lock"
lock: install
	$(LOCK) -c requirements.lock -o requirements.lock
	$(LOCK) --extra dev -c requirements.lock -c requirements-dev.lock -o requirements-dev.lock

## The compiled catalogues (app/translations/*/LC_MESSAGES/messages.mo), made from the .po files
MO := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))
install: $(VENV)/.installed $(MO)

$(MO): %.mo: %.po $(VENV)/.installed
	$(BIN)/python -m app.catalogues compile --stale

## make translations: the marked texts of app/ into each language's catalogue (docs/languages.md)
translations: $(VENV)/.installed
	$(BIN)/python -m app.catalogues update

## fails on an untranslated or fuzzy message, or a text not marked for translation (make test
## runs it too, as tests/test_translations.py)
check-translations: $(VENV)/.installed
	$(BIN)/python -m app.catalogues check

## OpenSSL's GOST engine signs ESIA requests (Debian package libengine-gost-openssl)
system-deps:
	@dpkg -s libengine-gost-openssl >/dev/null 2>&1 || { \
	  echo "installing libengine-gost-openssl"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq libengine-gost-openssl >/dev/null \
	  || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	       $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq libengine-gost-openssl >/dev/null; }; }

migrate: install
	$(FLASK) db upgrade

## make demo: venv, install, migrate, keys, demo data; serve the portal and the ESIA emulator
demo: system-deps migrate
	PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) WORKERS=$(WORKERS) bash demo/run.sh

## make test: lint, then the whole suite on SQLite (browser tests: make test-browser)
test: install system-deps lint
	PORTAL_ENV=testing $(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

## the same suite on PostgreSQL and Redis (a fresh database per run, dropped afterwards)
test-pg: install system-deps
	PORTAL_ENV=testing \
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

## axe-core, which the browser tests inject into every page, from npm as its lock file pins it
AXE_DIR := tests/browser/axe
$(AXE_DIR)/node_modules/axe-core/axe.min.js: $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	cd $(AXE_DIR) && npm ci --no-audit --no-fund --silent
	touch $@

axe: $(AXE_DIR)/node_modules/axe-core/axe.min.js

## browser tests in Debian's Chromium (apt-get install -y chromium)
test-browser: install system-deps axe
	PORTAL_ENV=testing $(BIN)/pytest -m browser $(PYTEST_ARGS)

## the browser suite's screenshots as one HTML report: build/qa/report.html
qa-report: install system-deps axe
	-PORTAL_ENV=testing $(BIN)/pytest -m browser -q $(PYTEST_ARGS)
	$(BIN)/python -m tests.browser.report build/qa

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make bench: the figures of bench/ (pages and logins against bare Flask, GOST signatures,
## the registry at 20k, 200k and 1M persons and the audit log at 1k, 1M and 10M rows on
## PostgreSQL: about 45 minutes in all)
bench: install system-deps
	@command -v wrk >/dev/null || { \
	  echo "installing wrk"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq wrk >/dev/null \
	  || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	       $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq wrk >/dev/null; }; }
	PORTAL_ENV=testing $(BIN)/python -m bench

## make image: the portal's image (deploy/Containerfile) with podman; make image-test runs it
image:
	bash deploy/image.sh

image-test: image
	bash deploy/image-test.sh

## make stack: nginx (TLS) → two portal instances → PostgreSQL, Redis (deploy/compose.yaml);
## make stack-down stops it; make stack-test restarts one instance under load on a fresh stack
stack: install
	bash deploy/stack.sh

## make stack-dev: the same in the development profile (deploy/compose.dev.yaml): the emulator
stack-dev: install
	bash deploy/stack.sh dev

stack-down:
	bash deploy/stack.sh down

stack-test: install
	bash deploy/stack-test.sh

clean:
	rm -rf $(VENV) instance/portal.db instance/portal.db-* .pytest_cache
