# The two commands of the README: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint format browser db stop-db clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the embedded PostgreSQL, unless DATABASE_URL points at a server.
db: install
	@if [ -z "$$DATABASE_URL" ]; then $(PY) -m crm.localdb ensure >/dev/null; fi

stop-db: install
	$(PY) -m crm.localdb stop

## Web server, Celery worker and beat, with the demo team; Ctrl-C stops all three.
run: db
	$(PY) manage.py run_local

## The whole test suite (browser tests need Debian's Chromium; `make browser` installs it).
test: db browser
	$(PY) -m pytest $(PYTEST_ARGS)

## Debian's Chromium for the Playwright tests (Playwright never downloads its own browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: sudo apt-get install chromium" >&2; exit 1; fi; }

lint: db
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=crm.settings.production SECRET_KEY=$${SECRET_KEY:-ci-check-deploy-$$(head -c 32 /dev/urandom | base64 | tr -dc a-zA-Z0-9)} \
	  $(PY) manage.py check --deploy --fail-level WARNING

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .local staticfiles .pytest_cache .mypy_cache .ruff_cache
