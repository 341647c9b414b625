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

# Airflow for `make demo` and `make airflow`: SQLite metadata in .airflow/ (git-ignored)
AIRFLOW_ENV := AIRFLOW_HOME=$(CURDIR)/.airflow AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False PIPELINES_CONFIG=$(CURDIR)/pipelines.example.toml \
	AIRFLOW_CONN_SPARK_DEFAULT='{"conn_type": "spark", "host": "local[*]"}' \
	PATH=$(CURDIR)/$(BIN):$$PATH HF_HUB_OFFLINE=1
SAMPLE := data/generated/sample

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

# The whole pipeline through Airflow (`airflow dags test`), then what it produced.
demo: demo-data
	mkdir -p .airflow
	$(AIRFLOW_ENV) $(BIN)/airflow db migrate > .airflow/migrate.log 2>&1 || \
	  { tail -50 .airflow/migrate.log; exit 1; }
	$(AIRFLOW_ENV) $(BIN)/airflow dags test catalog_embeddings > .airflow/demo-dag-test.log 2>&1 || \
	  { tail -50 .airflow/demo-dag-test.log; exit 1; }
	@grep -o "Marking run .* successful" .airflow/demo-dag-test.log | tail -1
	HF_HUB_OFFLINE=1 $(BIN)/pipelines status --config pipelines.example.toml \
	  --query "waterproof hiking jacket"

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
