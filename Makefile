# Modelworks: `make run` sets everything up and starts web + worker; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/*.txt | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= data
SECRET := $(DATA_DIR)/secret_key

.PHONY: run test install migrate seed lint audit bench browser clean

$(STAMP): requirements/base.txt requirements/test.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/test.txt
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

## A secret key of this installation, made once and kept (it signs sessions and model files).
$(SECRET):
	@mkdir -p $(DATA_DIR)
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(64))' > $@
	@echo "Wrote a new secret key to $@"

migrate: install $(SECRET)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0

seed: migrate
	$(PY) manage.py seed_demo

## Start the web server and the django-q2 worker together; Ctrl-C stops both.
run: seed
	@bin/run-dev $(HOST) $(PORT)

## Debian's Chromium for the end-to-end tests (installed only where missing, needs root).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The end-to-end tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

## The whole suite with coverage of apps/ and ml/ (SQLite, or PostgreSQL via DATABASE_URL).
test: install browser
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	$(PY) -m pytest --cov --cov-report=term --cov-fail-under=85 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

## Known vulnerabilities in the installed requirements (pip-audit; needs PyPI's JSON API).
audit: install
	$(PY) bin/audit

bench: install
	@# -P: bench/ must not shadow the standard library (bench/queue.py vs queue).
	for b in train ingest predict queue auto; do $(PY) -P bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) staticfiles .coverage*
