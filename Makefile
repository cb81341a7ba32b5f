# Two commands on a fresh clone: `make run` serves, `make test` tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 4000
export FLASK_APP := wsgi

.PHONY: help install run serve test check lint format bench soak clean
.DEFAULT_GOAL := help

help:  ## this list: every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP)  ## the .venv with the service and its dev tools (again when pyproject.toml changes)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install  ## development server on 127.0.0.1:4000 (SQLite, embedded Redis)
	$(BIN)/flask db upgrade
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

SERVER ?= gunicorn
SERVE_gunicorn := $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app
SERVE_granian := $(BIN)/python -m granian_server

serve: install  ## as deployed: gunicorn (the default), or SERVER=granian
	$(if $(SERVE_$(SERVER)),$(SERVE_$(SERVER)),$(error SERVER must be gunicorn or granian))

test: install  ## every test, real Redis and databases, with a coverage floor (PYTEST_ARGS=...)
	$(BIN)/pytest --cov --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

check: install  ## lint, then test: a style slip fails in seconds, not after the suite
	$(MAKE) lint
	$(MAKE) test

lint: install  ## ruff check, ruff format --check, mypy strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install  ## ruff --fix and ruff format, in place
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## both servers side by side (~25 min with PEER=node); BENCH_ARGS="--quick" smoke-tests
	$(BIN)/python -m bench.run $(if $(PEER),--peer $(PEER)) $(BENCH_ARGS)

soak: install  ## ~75 s of mixed traffic while Redis restarts and workers die; audits the data
	$(BIN)/python -m bench.soak --server $(SERVER) $(SOAK_ARGS)

clean:  ## remove the .venv and the tools' caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
