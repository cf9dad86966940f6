# `make run` serves the demo on port 8000; `make test` runs the suite. Both set up .venv as needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DEMO_NODES ?= 1000
# pytest workers (pytest-xdist): one per core; PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= auto

.PHONY: run test migrate seed docs-screenshot bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.runtime
	$(BIN)/python manage.py migrate

seed: migrate
	$(BIN)/python manage.py seed --demo-nodes $(DEMO_NODES)

run: seed
	PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

test: $(VENV)/.dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# /docs rendered by headless Chromium with the network shut off, saved as docs-screenshot.png.
docs-screenshot: $(VENV)/.dev
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	DOCS_SCREENSHOT=$(CURDIR)/docs-screenshot.png $(BIN)/python -m pytest -q tests/test_docs_browser.py -k sqlite

clean:
	rm -rf $(VENV) var .pytest_cache

# wrk against the service and its ceiling, SQLite and PostgreSQL, 10k and 100k nodes: bench/results/latest.md
bench: $(VENV)/.dev
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
