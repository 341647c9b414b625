"""An isolated Airflow for tests: its own AIRFLOW_HOME (SQLite), the project's DAGs, and
connections from the environment. Airflow reads its config at import, so DAG runs happen in
subprocesses that get this environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def airflow_env(home: Path, config: Path, spark_master: str = "local[2]", **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PIPELINES__"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW_CONN_SPARK_DEFAULT=json.dumps({"conn_type": "spark", "host": spark_master}),
        PIPELINES_CONFIG=str(config),
        PATH=f"{BIN}:{env.get('PATH', '')}",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def airflow(env: dict, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def migrate(env: dict) -> None:
    result = airflow(env, "db", "migrate", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


RUN_DAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
dag_id, conf, tasks = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
dag = DagBag().get_dag(dag_id)
if tasks:
    dag = dag.partial_subset(task_ids=tasks, include_upstream=False)
run = dag.test(run_conf=conf)
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("RESULT " + json.dumps({"state": str(run.state), "tasks": states}))
"""


def dag_test(
    env: dict, dag_id: str, *tasks: str, conf: dict | None = None, timeout: int = 900
) -> dict:
    """``dag.test()`` of a DAG (or some of its tasks) in a subprocess, triggered with ``conf``;
    its final states."""
    result = subprocess.run(
        [sys.executable, "-c", RUN_DAG, dag_id, json.dumps(conf or {}), *tasks],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"dag.test() printed no result:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return json.loads(lines[-1].removeprefix("RESULT "))


@contextmanager
def airflow_services(env: dict, logs: Path, *commands: list[str]) -> Iterator[None]:
    """Airflow components (``["api-server", "--port", "8080"]``, ``["scheduler"]``) running in
    the background with ``env``, each logging to ``logs/<component>.log``; stopped on exit."""
    logs.mkdir(parents=True, exist_ok=True)
    processes = [
        subprocess.Popen(
            [str(BIN / "airflow"), *command],
            env=env,
            stdout=(logs / f"{command[0]}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for command in commands
    ]
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
