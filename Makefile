# Two commands for a fresh machine: `make run` (the main job on the embedded defaults) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_CLUSTER ?= 15 main

export METADATA_PIPELINE_HOME ?= $(CURDIR)/.metadata_pipeline
export DAGSTER_HOME ?= $(METADATA_PIPELINE_HOME)/dagster_home

.PHONY: install run test postgres dev example lint bench

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## The main job on the embedded defaults: SQLite catalog, bundled example, local git remote, offline AI.
run: install
	$(BIN)/metadata-pipeline demo

## The whole test suite, on SQLite and a real PostgreSQL (started here if it is down).
test: install postgres
	$(BIN)/python -m pytest -q

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $(PG_CLUSTER) start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started" >&2; exit 1

## The Dagster UI on http://127.0.0.1:3000
dev: install
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -m metadata_pipeline.definitions

## Rebuild the bundled example's target/manifest.json and target/catalog.json with dbt-duckdb.
example: install
	DBT=$(CURDIR)/$(BIN)/dbt bash examples/rebuild.sh

lint: install
	$(BIN)/ruff check metadata_pipeline metadata_pipeline_tests bench

bench: install postgres
	for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done
