# One image for Airflow (api-server, scheduler, dag-processor, triggerer) and the Spark
# master and workers: executors run the project's pandas UDFs, so they need its Python too.
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps curl \
    && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    HF_HUB_OFFLINE=1 \
    PYSPARK_PYTHON=python \
    PIPELINES_CONFIG=/opt/pipelines/pipelines.example.toml

WORKDIR /opt/pipelines
# torch first, the CPU build; the project's range then admits it and pulls nothing bigger
RUN pip install --no-cache-dir torch==2.13.0 --index-url "${TORCH_INDEX_URL}"
COPY pyproject.toml README.md ./
COPY pipelines ./pipelines
RUN pip install --no-cache-dir ".[onnx]" apache-airflow-providers-postgres psycopg2-binary
COPY dags ./dags
COPY jobs ./jobs
COPY pipelines.example.toml ./
