"""The DAGs through Airflow's dag.test(): with real spark-submit jobs, the tables and alias they
leave; with a fake spark-submit, what each task submits and how a failure ends the run."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers.airflow_env import REPO, airflow_env, dag_test, migrate
from helpers.data import write_settings
from helpers.fake_spark import fake_spark_submit, spark_calls

from pipelines.cli.demo import SAMPLE_TEMPLATE
from pipelines.datasets.sample import generate_sample
from pipelines.lake.arrow import table_dataset
from pipelines.runtime.context import safe_run_id

pytestmark = pytest.mark.slow
TASKS = ["embed_catalog", "validate_catalog", "publish_catalog", "reconcile_catalog", "maintain"]


def sample_config(folder, n_items: int = 120):
    files = generate_sample(folder / "data", n_items=n_items, n_users=10, n_events=200)
    return write_settings(
        folder,
        files["catalog"],
        model={"backend": "onnx-int8", "device": "cpu"},
        catalog={"text_template": SAMPLE_TEMPLATE, "payload_columns": ["title", "brand"]},
        events={"source": str(files["events"]), "format": "csv"},
    )


def test_dag_test_runs_the_pipeline(tmp_path):
    from deltalake import DeltaTable
    from qdrant_client import QdrantClient

    config = sample_config(tmp_path)
    env = airflow_env(tmp_path / "airflow", config)
    migrate(env)
    result = dag_test(env, "catalog_embeddings")
    assert result["state"] == "success", result
    assert result["tasks"] == {**dict.fromkeys(TASKS, "success"), "run_report": "success"}

    table = DeltaTable(str(tmp_path / "lake/embeddings/catalog"))
    rows = table.to_pyarrow_table(columns=["item_id", "run_id", "is_deleted"])
    assert rows.num_rows == 120  # the planted bad rows are in quarantine, not here
    [run_id] = set(rows.column("run_id").to_pylist())
    assert run_id.startswith("manual__")  # the DAG run's id, stamped on the rows and commit
    assert table.history(1)[0]["run_id"] == run_id
    quarantine = DeltaTable(str(tmp_path / "lake/quarantine/catalog")).to_pyarrow_table()
    assert quarantine.num_rows == 7

    client = QdrantClient(path=str(tmp_path / "lake/qdrant"))
    [alias] = client.get_aliases().aliases
    assert alias.alias_name == "catalog"
    assert alias.collection_name.endswith(safe_run_id(run_id))
    assert client.count("catalog").count == 120
    client.close()

    # the downstream DAG on the same lake: evaluation is not configured, so it is skipped
    result = dag_test(env, "recs_and_dedup")
    assert result["state"] == "success", result
    assert result["tasks"] == {
        "neighbors": "success",
        "dedup": "success",
        "recs_items": "success",
        "evaluation_configured": "success",
        "evaluate": "skipped",
        "run_report": "success",
    }
    graph = DeltaTable(str(tmp_path / "lake/neighbors/catalog")).to_pyarrow_table()
    assert graph.num_rows == 120 * 50
    recs = DeltaTable(str(tmp_path / "lake/recs/item_to_item")).to_pyarrow_table()
    assert recs.num_rows == 120 * 10
    assert DeltaTable(str(tmp_path / "lake/dedup/clusters")).to_pyarrow_table().num_rows > 0

    # hourly user events, triggered by hand: no data interval, so every event is taken
    result = dag_test(env, "user_events")
    assert result["state"] == "success", result
    assert set(result["tasks"].values()) == {"success"}
    users = table_dataset(tmp_path / "lake/embeddings/users").to_table()
    assert users.num_rows == 10  # the sample's users
    client = QdrantClient(path=str(tmp_path / "lake/qdrant"))
    served = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
    assert served["users"].startswith("users__") and client.count("users").count == 10
    client.close()
    recs = DeltaTable(str(tmp_path / "lake/recs/user_to_item")).to_pyarrow_table()
    assert recs.num_rows == 10 * 10
    quarantined = DeltaTable(str(tmp_path / "lake/quarantine/events")).to_pandas()
    planted = pd.read_csv(tmp_path / "data/bad_events.csv")
    assert sorted(quarantined.reason) == sorted(planted.expected_reason)


def test_a_terminal_failure_fails_the_run_at_once_and_maintenance_still_runs(tmp_path):
    env = airflow_env(tmp_path / "airflow", REPO / "pipelines.example.toml")
    env.update(fake_spark_submit(tmp_path, embed_catalog=2))  # bad input: exit 2
    migrate(env)
    result = dag_test(env, "catalog_embeddings", conf={"allow_mass_delete": True})
    assert result["tasks"] == {
        "embed_catalog": "failed",
        **dict.fromkeys(TASKS[1:4], "upstream_failed"),
        "maintain": "success",  # cleanup after a failed run is the point
        "run_report": "skipped",  # the run committed and recorded nothing: no report
    }
    assert result["state"] == "failed", "a successful cleanup must not hide the failure"
    calls = spark_calls(env)
    assert [call["job"] for call in calls] == ["embed_catalog", "maintain"], "exit 2 was retried"
    embed = calls[0]["argv"]
    assert embed[embed.index("--allow-mass-delete") + 1] == "True"


def test_each_task_submits_its_stage_with_the_runs_arguments(tmp_path):
    key = "qdrant-key-from-the-connection"
    env = airflow_env(
        tmp_path / "airflow",
        REPO / "pipelines.example.toml",
        AIRFLOW_CONN_QDRANT_DEFAULT=json.dumps({"conn_type": "generic", "password": key}),
    )
    env.update(fake_spark_submit(tmp_path))
    migrate(env)
    result = dag_test(env, "catalog_embeddings", conf={"full_refresh": True})
    # no stage ran for real, so the run left nothing to report
    tasks = {**dict.fromkeys(TASKS, "success"), "run_report": "skipped"}
    assert result == {"state": "success", "tasks": tasks}
    calls = spark_calls(env)
    assert [call["job"] for call in calls] == TASKS, "one submit per task, in the DAG's order"
    [run_id] = {call["argv"][call["argv"].index("--run-id") + 1] for call in calls}
    assert run_id.startswith("manual__")
    for call in calls:
        assert call["application"] == str(REPO / "jobs" / "run_stage.py")
    by_job = {call["job"]: call for call in calls}
    publish = by_job["publish_catalog"]["argv"]
    assert publish[publish.index("--full-refresh") + 1] == "True"
    # the key is rendered from the connection into the environment of the Qdrant tasks only
    for job in TASKS:
        expected = key if job in ("publish_catalog", "reconcile_catalog") else None
        assert by_job[job]["env"].get("PIPELINES__QDRANT__API_KEY") == expected, job
        assert not any(key in arg for arg in by_job[job]["argv"]), job


def test_a_manual_user_events_run_takes_every_event(tmp_path):
    env = airflow_env(tmp_path / "airflow", REPO / "pipelines.example.toml")
    env.update(fake_spark_submit(tmp_path))
    migrate(env)
    result = dag_test(env, "user_events")
    assert result["state"] == "success" and result["tasks"].pop("run_report") == "skipped"
    assert set(result["tasks"].values()) == {"success"}
    calls = {call["job"]: call["argv"] for call in spark_calls(env)}
    assert sorted(calls) == sorted(result["tasks"])
    events = calls["embed_events"]
    assert events[events.index("--stage") + 1] == "embed-events"
    # no data interval on a manual trigger: empty bounds, which the job reads as "all events"
    assert events[events.index("--interval-start") + 1] == ""
    assert events[events.index("--interval-end") + 1] == ""
