# The two commands of the README: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
# The Python that makes .venv; pyproject wants 3.11 (`make run PYTHON=python3.11`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
IS_311 := -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'
## `make run PORT=8001` (or PORT=8001 in the environment)
PORT ?= 8000

.PHONY: install run test lint format browser db stop-db clean

# A .venv made by another Python (say a python3 that is 3.12) is made again with $(PYTHON).
$(STAMP): pyproject.toml
	@$(PY) $(IS_311) 2>/dev/null || { \
	  $(PYTHON) $(IS_311) 2>/dev/null || { \
	    echo "Python 3.11 is needed, and $(PYTHON) is $$($(PYTHON) --version 2>/dev/null || echo "not found"): run e.g. make $(or $(MAKECMDGOALS),install) PYTHON=python3.11" >&2; exit 1; }; \
	  echo "$(PYTHON) -m venv $(VENV)"; rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the embedded PostgreSQL, unless DATABASE_URL points at a server.
db: install
	@if [ -z "$$DATABASE_URL" ]; then $(PY) -m crm.localdb ensure >/dev/null; fi

stop-db: install
	$(PY) -m crm.localdb stop

## Web server, Celery worker and beat, with the demo team; Ctrl-C stops all three and the
## embedded PostgreSQL.
run: db
	$(PY) manage.py run_local --port $(PORT)

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
	-test -x $(PY) && $(PY) -m crm.localdb stop
	rm -rf $(VENV) .local staticfiles .pytest_cache .mypy_cache .ruff_cache
