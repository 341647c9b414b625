"""A real spark-submit through the operator: the task's log holds no Spark INFO chatter, the
job's result line ends it, and the task's asset event carries that result."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from helpers.airflow_env import airflow_env

pytestmark = pytest.mark.slow
SPARK_INFO = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d INFO ")

PROBE = """
import json
from airflow.sdk import Asset
from airflow.sdk.execution_time.context import OutletEventAccessors
from pipelines.orchestration.dags import spark_job
from pipelines.orchestration.operator import SparkJobOperator

lines = []
remember = SparkJobOperator._remember_result
def spy(self, output):
    for line in remember(self, output):
        lines.append(line.rstrip("\\n"))
        yield line
SparkJobOperator._remember_result = spy

asset = Asset(name="lake_probe", uri="file:///tmp/lake-probe")
events = OutletEventAccessors()
spark_job("maintain", outlets=[asset]).execute({"outlet_events": events, "run_id": "r-1"})
print("PROBE " + json.dumps({"lines": lines, "extra": events[asset].extra}))
"""


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    (folder / "lake").mkdir()
    config = folder / "pipelines.toml"
    config.write_text('[lake]\nroot = "lake"\n[spark.conf]\n"spark.ui.enabled" = "false"\n')
    env = airflow_env(folder / "airflow", config, "local[1]")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=600
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("PROBE ")), None)
    assert line, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(line.removeprefix("PROBE "))


def test_spark_logs_no_info_lines(job):
    spark_info = [line for line in job["lines"] if SPARK_INFO.match(line)]
    assert spark_info == [], spark_info[:5]
    first_useful = next(i for i, line in enumerate(job["lines"]) if "pipelines." in line)
    assert first_useful <= 5, job["lines"][:first_useful]


def test_the_result_line_ends_the_jobs_output(job):
    result = next(i for i, line in enumerate(job["lines"]) if line.startswith('{"stage"'))
    assert all(line.startswith("verdict: ") for line in job["lines"][result + 1 :]), job["lines"]


def test_the_asset_event_carries_the_jobs_result(job):
    assert job["extra"] == {"stage": "maintain", "run_id": "r-1", "rows": 0}
