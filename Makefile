# The two contract commands: `make demo` and `make test`. Both set everything up in .venv.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip on these machines warns about every missing local index folder; keep the log readable
# (braces: pip's own failure still fails the recipe under pipefail; grep's "no lines" does not)
QUIET_PIP := { grep -v "is neither a file nor a directory" || true; }

SAMPLE := data/generated/sample
# Airflow for `make demo` and `make airflow`: SQLite metadata in .airflow/ (git-ignored)
AIRFLOW_ENV := AIRFLOW_HOME=$(CURDIR)/.airflow AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False PIPELINES_CONFIG=$(CURDIR)/pipelines.example.toml \
	AIRFLOW_CONN_SPARK_DEFAULT='{"conn_type": "spark", "host": "local[*]"}' \
	AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False \
	PATH=$(CURDIR)/$(BIN):$$PATH HF_HUB_OFFLINE=1 \
	PIPELINES__EVALUATE__DEDUP_GOLD=$(CURDIR)/$(SAMPLE)/planted_pairs.csv
DAGS := catalog_embeddings recs_and_dedup user_events

.PHONY: setup demo demo-data airflow test lint format bench check-java clean

check-java:
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	if [ -z "$$v" ] || [ "$$v" -lt 17 ]; then \
	  echo "Java 17 or newer is needed by Spark (found: $${v:-none})."; \
	  echo "Install it, e.g. 'apt-get install openjdk-17-jre-headless', and put java on PATH."; \
	  exit 1; \
	fi

setup: check-java $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first: the CPU wheel on disk; the project's range then installs nothing bigger
	$(BIN)/pip install -q torch==2.13.0 2>&1 | $(QUIET_PIP)
	$(BIN)/pip install -q -e ".[onnx,dev]" 2>&1 | $(QUIET_PIP)
	@# labeled evaluation data; --no-deps keeps recbole's training stack out
	$(BIN)/pip install -q --no-deps recbole==1.2.1 2>&1 | $(QUIET_PIP)
	$(BIN)/pip install -q recordlinkage==0.16 2>&1 | $(QUIET_PIP)
	touch $(STAMP)

demo-data: setup
	$(BIN)/python -m pipelines.datasets.sample --out $(SAMPLE) > /dev/null

# The whole product through Airflow: `airflow dags test` of each DAG in turn, one line per task
# as it starts and ends (each DAG's whole output in .airflow/demo-<dag>.log), then a tour of
# what it made; the tour also copies the settings to ./pipelines.toml for the CLI.
demo: demo-data
	mkdir -p .airflow
	$(AIRFLOW_ENV) $(BIN)/airflow db migrate > .airflow/migrate.log 2>&1 || \
	  { tail -50 .airflow/migrate.log; exit 1; }
	@for dag in $(DAGS); do \
	  $(AIRFLOW_ENV) PYTHONUNBUFFERED=1 $(BIN)/airflow dags test $$dag 2>&1 | \
	    $(BIN)/python -m pipelines.cli.demo_progress $$dag --log .airflow/demo-$$dag.log || exit 1; \
	done
	@HF_HUB_OFFLINE=1 $(BIN)/pipelines tour --config pipelines.example.toml

# airflow standalone: UI on http://localhost:8080 with the project's DAGs
airflow: demo-data
	@echo "Airflow UI: http://localhost:8080  user: admin"
	@echo "password: printed below, and kept in .airflow/simple_auth_manager_passwords.json.generated"
	$(AIRFLOW_ENV) $(BIN)/airflow standalone

test: setup lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -p no:cacheprovider

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/embed_throughput.py

clean:
	rm -rf lakehouse data/generated spark-warehouse .airflow
