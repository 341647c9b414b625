"""Airflow wiring helpers, cheap to import at DAG-parse time (stdlib and Airflow only).

DAG files stay ~30 lines of wiring; everything they share lives here.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.tables import Table

REPO = Path(__file__).resolve().parents[2]
RUN_STAGE = REPO / "jobs" / "run_stage.py"
SPARK_CONN_ID = os.environ.get("PIPELINES_SPARK_CONN_ID", "spark_default")
# the key travels in the job's environment, rendered from the connection (masked in the UI);
# SparkJobOperator drops it where spark-submit would copy it onto its command line
QDRANT_KEY = {
    "PIPELINES__QDRANT__API_KEY": "{% set c = conn.get('qdrant_default') %}"
    "{{ (c.password or '') if c else '' }}"
}

# A scheduled (or backfilled) run's data interval for jobs' --interval-start/--interval-end.
# A manual trigger renders no interval: the job takes every event (a full rebuild).
_HAS_INTERVAL = (
    "dag_run.run_type != 'manual' and data_interval_start"
    " and data_interval_start < data_interval_end"
)
INTERVAL_ARGS = [
    "--interval-start",
    "{{ data_interval_start.isoformat() if " + _HAS_INTERVAL + " else '' }}",
    "--interval-end",
    "{{ data_interval_end.isoformat() if " + _HAS_INTERVAL + " else '' }}",
]

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


def config_path() -> str:
    """The settings file every task passes to its job: $PIPELINES_CONFIG or ./pipelines.toml."""
    return os.environ.get("PIPELINES_CONFIG", str(REPO / "pipelines.toml"))


def lake_root() -> Path:
    """The lake root, for Asset URIs: environment first, then the file, as load_settings does."""
    root = os.environ.get("PIPELINES__LAKE__ROOT")
    config = Path(config_path())
    if root is None and config.is_file():
        root = tomllib.loads(config.read_text()).get("lake", {}).get("root")
    path = Path(root or "lakehouse")
    return path if path.is_absolute() else (config.parent / path).resolve()


def table_asset(table: Table, *, validated: bool = False):
    """The Asset of a lake table, or (``validated``) of its versions that passed validation.

    The validated one keeps the table's path and adds a query: Airflow drops URI fragments,
    so ``#validated`` would name the table's own asset.
    """
    from airflow.sdk import Asset

    name, uri = table.asset_name, (lake_root() / table.name).as_uri()
    if validated:
        return Asset(name=f"{name}_validated", uri=f"{uri}?validated=true")
    return Asset(name=name, uri=uri)


def spark_job(stage: str, *, terminal: bool = False, **kwargs):
    """A SparkJobOperator running ``stage`` through ``jobs/run_stage.py`` with the DAG run's
    id; its task id is the stage's name with '_' for '-'.

    ``terminal`` tasks (validation) get no retries: a failed check does not pass on retry.
    The Qdrant API key, if any, comes from the ``qdrant_default`` connection's password.
    """
    from pipelines.orchestration.operator import SparkJobOperator

    if terminal:
        kwargs["retries"] = 0
    args = ["--stage", stage, "--config", config_path(), "--run-id", "{{ run_id }}"]
    return SparkJobOperator(
        task_id=stage.replace("-", "_"),
        application=str(RUN_STAGE),
        conn_id=SPARK_CONN_ID,
        name=f"pipelines-{stage}",
        application_args=[*args, *kwargs.pop("extra_args", [])],
        env_vars={
            "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", _python()),
            "HF_HUB_OFFLINE": "1",
            **kwargs.pop("env_vars", {}),
        },
        **kwargs,
    )


def stage_configured(stage: str, config: str) -> bool:
    """Whether ``stage`` has its inputs configured; read at run time, so a settings change
    needs no DAG re-parse."""
    from pipelines.config import load_settings
    from pipelines.orchestration.stages import select_stages

    return any(s.name == stage for s in select_stages(load_settings(config), None))


def stage_gate(task_id: str, stage: str):
    """A task that skips everything after it unless ``stage`` is configured."""
    from airflow.providers.standard.operators.python import ShortCircuitOperator

    return ShortCircuitOperator(
        task_id=task_id, python_callable=stage_configured, op_args=[stage, config_path()]
    )


def write_report(config: str, run: str) -> str:
    """Write the HTML report (``pipelines.report``) of the run whose id is ``run``; its path.
    A run the report cannot describe (it committed and recorded nothing, or the settings do
    not load) skips the task with the reason in its log. (Not ``run_id``: Airflow reserves
    the context's names for itself.)"""
    import logging

    from airflow.sdk.exceptions import AirflowSkipException

    from pipelines.config import load_settings
    from pipelines.errors import ConfigError, InputError
    from pipelines.report import write_run_report

    try:
        path = write_run_report(load_settings(config), run)
    except (ConfigError, InputError) as exc:
        logging.getLogger(__name__).warning("no report of run %s: %s", run, exc)
        raise AirflowSkipException(f"no report of run {run}: {exc}") from None
    return str(path)


def run_report(task_id: str = "run_report"):
    """The DAG's last task: writes the run's report once every task before it is done, even
    failed or skipped. Set it downstream of the DAG's last tasks.

    A teardown with no setups runs as ``all_done`` would, and unlike a plain ``all_done``
    leaf its own success leaves the run's state to the tasks before it (a failed run stays
    failed); the evaluation gate's short-circuit does not skip it either.
    """
    from airflow.providers.standard.operators.python import PythonOperator

    return PythonOperator(
        task_id=task_id, python_callable=write_report, op_args=[config_path(), "{{ run_id }}"]
    ).as_teardown()


def _python() -> str:
    import sys

    return sys.executable
