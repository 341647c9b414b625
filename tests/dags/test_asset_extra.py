"""A task's asset events carry what its job did: the rows and the version of the stage's table,
read from the result line the job prints, here printed by a stand-in spark-submit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers.airflow_env import REPO, airflow_env, dag_test, migrate

FAKE = """#!{python}
import json, os, sys
argv = sys.argv[1:]
stage = argv[argv.index("--stage") + 1]
print("26/01/01 00:00:00 WARN Utils: a Spark warning")
result = json.loads(os.environ.get("FAKE_RESULTS", "{{}}")).get(stage)
if result is not None:
    print(json.dumps({{"stage": stage, **result}}))
    print("verdict: " + stage + " ok")
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""
RESULTS = {
    "embed-events": {"rows_read": 200, "embedded": 10, "quarantined": 4, "table_version": 3,
                     "details": {"events": {"clean": 196}}},
    "validate-users": {"rows_read": 10, "table_version": 3, "details": {"drift": "ok"}},
    "cooccurrence": {"rows_read": 50, "table_version": 2},
    "recs-users": {"rows_read": 100, "table_version": 5},
    "publish-users": {"rows_read": 10, "table_version": 3,
                      "details": {"mode": "full", "collection": "c", "alias": "users"}},
    "reconcile-users": {"rows_read": 10},
}  # fmt: skip

PROBE = """
import json, os, sys
from airflow.sdk.execution_time.context import OutletEventAccessors
from airflow.sdk.exceptions import AirflowException
from pipelines.orchestration.dags import spark_job, table_asset
from pipelines.tables import EVENTS, USER_EMBEDDINGS

def run(stage, outlets, exit_code=0):
    os.environ["FAKE_EXIT"] = str(exit_code)
    events = OutletEventAccessors()
    op = spark_job(stage, outlets=outlets)
    try:
        op.execute({"outlet_events": events, "run_id": "manual__1"})
    except AirflowException:
        pass
    return {asset.name: events[asset].extra for asset in outlets}

report = {
    "embed": run("embed-events", [table_asset(EVENTS), table_asset(USER_EMBEDDINGS)]),
    "validated": run("validate-users", [table_asset(USER_EMBEDDINGS, validated=True)]),
    "no_result": run("neighbors", [table_asset(USER_EMBEDDINGS)]),
    "failed": run("cooccurrence", [table_asset(EVENTS)], exit_code=75),
}
print("PROBE " + json.dumps(report))
"""


def _fake_submit(folder) -> dict:
    bin_dir = folder / "fake-bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "spark-submit"
    script.write_text(FAKE.format(python=sys.executable))
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_RESULTS": json.dumps(RESULTS)}


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extra")
    env = airflow_env(folder / "airflow", REPO / "pipelines.example.toml", "local[1]")
    env.update(_fake_submit(folder))
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("PROBE ")), None)
    assert line, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(line.removeprefix("PROBE "))


def test_every_outlet_carries_the_rows_and_version_the_job_reported(probe):
    expected = {
        "stage": "embed-events", "run_id": "manual__1", "rows": 200,
        "table": "embeddings/users", "version": 3,
        "embedded": 10, "skipped": 0, "quarantined": 4, "tombstoned": 0,
    }  # fmt: skip
    assert probe["embed"] == {"events_clean": expected, "embeddings_users": expected}
    assert probe["validated"] == {
        "embeddings_users_validated": {
            "stage": "validate-users", "run_id": "manual__1", "rows": 10,
            "table": "embeddings/users", "version": 3,
        }
    }  # fmt: skip


def test_a_job_without_a_result_line_or_that_failed_adds_nothing(probe):
    assert probe["no_result"] == {"embeddings_users": {}}
    assert probe["failed"] == {"events_clean": {}}


@pytest.mark.slow
def test_the_asset_events_of_a_dag_run_hold_the_extra(tmp_path):
    env = airflow_env(tmp_path / "airflow", REPO / "pipelines.example.toml", "local[1]")
    env.update(_fake_submit(tmp_path))
    migrate(env)
    result = dag_test(env, "user_events")
    assert result["state"] == "success", result
    read = subprocess.run(
        [sys.executable, "-c", READ_EVENTS], env=env, capture_output=True, text=True, timeout=300
    )
    line = next((x for x in read.stdout.splitlines() if x.startswith("EVENTS ")), None)
    assert line, read.stderr[-3000:]
    events = json.loads(line.removeprefix("EVENTS "))
    assert events["recs_user_to_item"]["rows"] == 100
    assert events["recs_user_to_item"]["version"] == 5
    assert events["embeddings_users_validated"]["version"] == 3
    assert events["cooccurrence_items"]["table"] == "cooccurrence/items"


READ_EVENTS = """
import json
from sqlalchemy import select
from airflow.models.asset import AssetEvent, AssetModel
from airflow.utils.session import create_session
with create_session() as session:
    query = select(AssetModel.name, AssetEvent.extra)
    rows = session.execute(query.join(AssetModel, AssetEvent.asset_id == AssetModel.id)).all()
print("EVENTS " + json.dumps({name: extra for name, extra in rows}))
"""
