"""The embedding job through the same SparkSubmitOperator, on a real Spark standalone
cluster (master and worker from the pyspark package, on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.airflow_env import airflow_env, dag_test, migrate
from test_catalog_dag import sample_config

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")


@pytest.fixture
def spark_cluster(tmp_path):
    import pyspark

    home = Path(pyspark.__file__).parent
    spark_class = str(home / "bin" / "spark-class")
    port, ui, worker_ui = _free_port(), _free_port(), _free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(tmp_path / "logs"),
           "PYSPARK_PYTHON": sys.executable}  # fmt: skip
    master = subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(ui)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"spark://127.0.0.1:{port}"
    _wait_for_port(port)
    worker = subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.worker.Worker", "--cores", "2", "--memory",
         "3g", "--webui-port", str(worker_ui), "--work-dir", str(tmp_path / "work"), url],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for_port(worker_ui)
    yield url, tmp_path / "work"
    for process in (worker, master):
        process.terminate()
        process.wait(timeout=30)


def test_embedding_job_runs_on_a_standalone_cluster(tmp_path, spark_cluster):
    from deltalake import DeltaTable

    url, work_dir = spark_cluster
    config = sample_config(tmp_path, n_items=80)
    env = airflow_env(tmp_path / "airflow", config, spark_master=url)
    migrate(env)
    result = dag_test(env, "catalog_embeddings", "embed_catalog")
    assert result["tasks"] == {"embed_catalog": "success"}, result
    rows = DeltaTable(str(tmp_path / "lake/embeddings/catalog")).to_pyarrow_table()
    assert rows.num_rows == 80
    assert all(len(v) == 384 for v in rows.column("vector").to_pylist())
    apps = list(work_dir.glob("app-*"))  # the worker ran executors for the job
    assert apps, "no application ran on the standalone worker"
