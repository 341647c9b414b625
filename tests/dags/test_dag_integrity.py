"""The DAGs as Airflow loads them: they import cleanly, fast and without heavy modules, and
their tasks, order, retries, arguments, assets and rendered templates are what the pipeline
needs. Each DagBag is built in a fresh interpreter with its own AIRFLOW_HOME."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest
from helpers.airflow_env import REPO, airflow_env

from pipelines import tables

HEAVY = ("pyspark", "torch", "sentence_transformers", "transformers", "great_expectations")
CONFIG = REPO / "pipelines.example.toml"

INSPECT = """
import importlib.util, json, sys, time
from pathlib import Path
report = {"files": {}, "dags": {}}
for path in sorted(Path(sys.argv[1]).glob("*.py")):
    before = set(sys.modules)
    start = time.perf_counter()
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report["files"][path.name] = {
        "seconds": time.perf_counter() - start,
        "heavy": sorted(m for m in set(sys.modules) - before if m.split(".")[0] in sys.argv[2:]),
    }
from airflow.dag_processing.dagbag import DagBag
import pendulum
def _interval_seconds(dag):
    try:
        found = dag.timetable.infer_manual_data_interval(run_after=pendulum.now("UTC"))
    except Exception:
        return None
    return (found.end - found.start).total_seconds()
def _assets(assets):
    return sorted([a.name, a.uri] for a in assets)
def _task(t):
    return {
        "type": type(t).__name__, "owner": t.owner, "retries": t.retries,
        "backoff": t.retry_exponential_backoff, "downstream": sorted(t.downstream_task_ids),
        "outlets": _assets(t.outlets), "teardown": t.is_teardown,
        "trigger_rule": str(getattr(t.trigger_rule, "value", t.trigger_rule)),
        "application": getattr(t, "application", None),
        "args": getattr(t, "application_args", None), "name": getattr(t, "name", None),
    }
bag = DagBag(dag_folder=sys.argv[1])
report["import_errors"] = {k: str(v) for k, v in bag.import_errors.items()}
for dag_id, dag in bag.dags.items():
    assets = getattr(getattr(dag.timetable, "asset_condition", None), "objects", None)
    report["dags"][dag_id] = {
        "tags": sorted(dag.tags), "doc_md": bool(dag.doc_md),
        "interval_s": _interval_seconds(dag),
        "schedule_assets": _assets(assets) if assets is not None else None,
        "tasks": {t.task_id: _task(t) for t in dag.tasks},
    }
# the evaluation gate, called as a worker would: off in the example settings, then on
import os
gate = bag.dags["recs_and_dedup"].get_task("evaluation_configured")
before = set(sys.modules)
decisions = [gate.python_callable(*gate.op_args)]
os.environ["PIPELINES__EVALUATE__RECS_ITEMS"] = "true"
decisions.append(gate.python_callable(*gate.op_args))
report["gate"] = {
    "decisions": decisions,
    "heavy": sorted(m for m in set(sys.modules) - before if m.split(".")[0] in sys.argv[2:]),
}
print("REPORT " + json.dumps(report, default=str))
"""


def _inspect(tmp_path_factory, script: str, marker: str) -> dict:
    """Run ``script`` over the DAG folder in a fresh interpreter; its ``marker`` JSON line."""
    env = airflow_env(tmp_path_factory.mktemp("airflow"), CONFIG)
    result = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "dags"), *HEAVY],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    line = next((x for x in result.stdout.splitlines() if x.startswith(marker + " ")), None)
    assert line, result.stderr[-3000:]
    return json.loads(line.removeprefix(marker + " "))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return _inspect(tmp_path_factory, INSPECT, "REPORT")


def _tasks(report, dag_id: str) -> dict:
    return report["dags"][dag_id]["tasks"]


def _spark_tasks(report):
    for dag_id, dag in report["dags"].items():
        for task_id, task in dag["tasks"].items():
            if task["type"] == "SparkJobOperator":
                yield dag_id, task_id, task


def test_no_import_errors(report):
    assert report["import_errors"] == {}
    assert sorted(report["dags"]) == ["catalog_embeddings", "recs_and_dedup", "user_events"]


def test_dag_files_import_fast_without_heavy_modules(report):
    assert sorted(report["files"]) == [
        "catalog_embeddings.py", "recs_and_dedup.py", "user_events.py",
    ]  # fmt: skip
    for name, file in report["files"].items():
        assert file["heavy"] == [], f"{name} imports {file['heavy']} at parse time"
        # Airflow's own limit (dagbag_import_timeout, 30 s); the first file also pays for
        # importing Airflow, and the heavy-module check above is what keeps parsing cheap
        assert file["seconds"] < 30.0, f"{name} took {file['seconds']:.2f}s to import"


def test_every_dag_has_tags_docs_owner_and_retries(report):
    for dag_id, dag in report["dags"].items():
        assert dag["tags"] and dag["doc_md"], dag_id
        for task_id, task in dag["tasks"].items():
            assert task["owner"] == "data-platform", (dag_id, task_id)
            if task_id.startswith("validate"):
                assert task["retries"] == 0, "a failed validation must not be retried"
            else:
                assert task["retries"] >= 1 and task["backoff"], (dag_id, task_id)
    validations = [t for d in report["dags"].values() for t in d["tasks"] if "validate" in t]
    assert sorted(validations) == ["validate_catalog", "validate_users"]


def test_task_order(report):
    downstream = {
        dag_id: {task_id: task["downstream"] for task_id, task in dag["tasks"].items()}
        for dag_id, dag in report["dags"].items()
    }
    assert downstream["catalog_embeddings"] == {
        "embed_catalog": ["validate_catalog"],
        "validate_catalog": ["publish_catalog"],
        "publish_catalog": ["reconcile_catalog"],
        "reconcile_catalog": ["maintain"],
        "maintain": ["run_report"],
        "run_report": [],
    }
    assert downstream["recs_and_dedup"] == {
        "neighbors": ["dedup"],
        "dedup": ["recs_items"],
        "recs_items": ["evaluation_configured"],
        "evaluation_configured": ["evaluate"],
        "evaluate": ["run_report"],
        "run_report": [],
    }
    # nothing downstream reads a users table that failed validation
    assert downstream["user_events"] == {
        "embed_events": ["validate_users"],
        "validate_users": ["cooccurrence", "publish_users"],
        "publish_users": ["reconcile_users"],
        "reconcile_users": ["run_report"],
        "cooccurrence": ["recs_users"],
        "recs_users": ["run_report"],
        "run_report": [],
    }
    # every run writes its report (tests/dags/test_run_report_task.py)
    for dag in report["dags"].values():
        assert dag["tasks"]["run_report"]["teardown"]
    gate = _tasks(report, "recs_and_dedup")["evaluation_configured"]
    assert gate["type"] == "ShortCircuitOperator"


def test_every_spark_task_runs_its_stage_through_run_stage(report):
    from pipelines.orchestration.stages import STAGE_NAMES

    run_stage = REPO / "jobs" / "run_stage.py"
    assert run_stage.is_file()
    found = list(_spark_tasks(report))
    assert len(found) == 5 + 4 + 6  # every task but the evaluation gate
    for dag_id, task_id, task in found:
        args = task["args"]
        assert task["application"] == str(run_stage), (dag_id, task_id)
        assert args[0] == "--stage", (dag_id, task_id, args)
        stage = args[1]
        assert stage in STAGE_NAMES, f"{dag_id}.{task_id}: run_stage.py has no stage {stage}"
        assert task_id == stage.replace("-", "_") and task["name"] == f"pipelines-{stage}"
        assert args[args.index("--config") + 1] == str(CONFIG), (dag_id, task_id)
        assert args[args.index("--run-id") + 1] == "{{ run_id }}", (dag_id, task_id)


def test_without_pipelines_config_tasks_read_the_repos_pipelines_toml(monkeypatch):
    from pipelines.orchestration import dags

    monkeypatch.delenv("PIPELINES_CONFIG", raising=False)
    assert dags.config_path() == str(REPO / "pipelines.toml")


def _asset(table: tables.Table, validated: bool = False) -> list[str]:
    """[name, uri] of a table's Asset under the example settings' lake root."""
    root = tomllib.loads(CONFIG.read_text())["lake"]["root"]
    uri = (CONFIG.parent / root / table.name).as_uri()
    if validated:
        return [f"{table.asset_name}_validated", f"{uri}?validated=true"]
    return [table.asset_name, uri]


def test_outlets_and_schedules_name_the_tables_contracts(report):
    outlets = {
        dag_id: {task_id: task["outlets"] for task_id, task in dag["tasks"].items()}
        for dag_id, dag in report["dags"].items()
    }
    catalog_validated = _asset(tables.CATALOG_EMBEDDINGS, validated=True)
    assert outlets["catalog_embeddings"] == {
        "embed_catalog": [_asset(tables.CATALOG_EMBEDDINGS)],  # lineage of every version
        "validate_catalog": [catalog_validated],
        "publish_catalog": [],
        "reconcile_catalog": [],
        "maintain": [],
        "run_report": [],
    }
    assert outlets["user_events"] == {
        "embed_events": sorted([_asset(tables.USER_EMBEDDINGS), _asset(tables.EVENTS)]),
        "validate_users": [_asset(tables.USER_EMBEDDINGS, validated=True)],
        "publish_users": [],
        "reconcile_users": [],
        "cooccurrence": [_asset(tables.COOCCURRENCE)],
        "recs_users": [_asset(tables.USER_RECS)],
        "run_report": [],
    }
    assert outlets["recs_and_dedup"] == {
        "neighbors": [_asset(tables.NEIGHBORS)],
        "dedup": [_asset(tables.DEDUP_CLUSTERS)],
        "recs_items": [_asset(tables.ITEM_RECS)],
        "evaluation_configured": [],
        "evaluate": [],
        "run_report": [],
    }
    # a version that failed validation is not read downstream: the schedule is the validated
    # asset, whose URI Airflow must not fold into the table's own
    assert report["dags"]["recs_and_dedup"]["schedule_assets"] == [catalog_validated]
    assert catalog_validated[1] != _asset(tables.CATALOG_EMBEDDINGS)[1]
    assert report["dags"]["catalog_embeddings"]["schedule_assets"] is None


def test_recs_and_dedup_evaluates_only_when_an_evaluation_set_is_configured(report):
    # the example settings configure no evaluation; the environment override turns it on
    assert report["gate"]["decisions"] == [False, True]
    assert report["gate"]["heavy"] == [], "the gate runs in an Airflow worker: keep it light"


def test_user_events_is_hourly(report):
    assert report["dags"]["user_events"]["interval_s"] == 3600, (
        "each scheduled run must cover one hour of events"
    )


RENDER = """
import json, sys
from types import SimpleNamespace
import pendulum
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
start = pendulum.datetime(2026, 3, 1, 5, tz="UTC")
def args(dag_id, task_id, run_type="scheduled", **conf):
    dag = bag.dags[dag_id]
    task = dag.get_task(task_id)
    context = {"run_id": "r1", "params": {**dag.params.dump(), **conf},
               "dag_run": SimpleNamespace(run_type=run_type),
               "data_interval_start": start, "data_interval_end": start.add(hours=1)}
    return task.render_template(task.application_args, context, jinja_env=dag.get_template_env())
catalog = bag.dags["catalog_embeddings"]
params = {name: {"value": p.value, "schema": p.schema, "description": p.description}
          for name, p in catalog.params.items()}
maintain = catalog.task_dict.get("maintain")
report = {
    "embed": {"default": args("catalog_embeddings", "embed_catalog"),
              "allowed": args("catalog_embeddings", "embed_catalog", allow_mass_delete=True)},
    "validate": {"default": args("catalog_embeddings", "validate_catalog"),
                 "accepted": args("catalog_embeddings", "validate_catalog", accept_drift=True)},
    "publish": {"default": args("catalog_embeddings", "publish_catalog"),
                "full": args("catalog_embeddings", "publish_catalog", full_refresh=True)},
    "events": {"scheduled": args("user_events", "embed_events"),
               "manual": args("user_events", "embed_events", "manual")},
    "params": params,
    "maintain": maintain and {
        "upstream": sorted(maintain.upstream_task_ids),
        "downstream": sorted(maintain.downstream_task_ids),
        "trigger_rule": maintain.trigger_rule.value, "teardown": maintain.is_teardown,
        "args": args("catalog_embeddings", "maintain")},
}
print("RENDER " + json.dumps(report, default=str))
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return _inspect(tmp_path_factory, RENDER, "RENDER")


def _value(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_user_events_passes_a_scheduled_runs_interval_and_none_for_a_manual_one(rendered):
    scheduled, manual = rendered["events"]["scheduled"], rendered["events"]["manual"]
    assert scheduled[:2] == ["--stage", "embed-events"] and _value(scheduled, "--run-id") == "r1"
    assert _value(scheduled, "--interval-start") == "2026-03-01T05:00:00+00:00"
    assert _value(scheduled, "--interval-end") == "2026-03-01T06:00:00+00:00"
    # a manual trigger has no interval: the job takes every event
    assert _value(manual, "--interval-start") == _value(manual, "--interval-end") == ""


def test_a_mass_delete_needs_the_allow_mass_delete_param(rendered):
    param = rendered["params"]["allow_mass_delete"]
    assert param["value"] is False and param["schema"]["type"] == "boolean"
    assert "max_delete_fraction" in param["description"]
    assert _value(rendered["embed"]["default"], "--allow-mass-delete") == "False"
    assert _value(rendered["embed"]["allowed"], "--allow-mass-delete") == "True"


def test_drift_is_accepted_by_the_accept_drift_param(rendered):
    param = rendered["params"]["accept_drift"]
    assert param["value"] is False and param["schema"]["type"] == "boolean"
    assert "centroid_shift_fail" in param["description"]
    assert _value(rendered["validate"]["default"], "--accept-drift") == "False"
    assert _value(rendered["validate"]["accepted"], "--accept-drift") == "True"
    assert "--accept-drift" not in rendered["publish"]["default"]


def test_a_full_refresh_is_asked_for_by_the_full_refresh_param(rendered):
    assert rendered["params"]["full_refresh"]["value"] is False
    assert _value(rendered["publish"]["default"], "--full-refresh") == "False"
    assert _value(rendered["publish"]["full"], "--full-refresh") == "True"
    assert "--full-refresh" not in rendered["embed"]["default"]


def test_maintenance_runs_last_and_after_failures_too(rendered):
    maintain = rendered["maintain"]
    assert maintain, "catalog_embeddings has no maintain task"
    assert maintain["upstream"] == ["reconcile_catalog"]
    assert maintain["downstream"] == ["run_report"]  # the run's report shows what it swept
    # a teardown: runs once upstream is done, whatever its state, and leaves the run's state
    # to the tasks before it
    assert maintain["teardown"] and maintain["trigger_rule"] == "all_done_setup_success"
    assert maintain["args"] == ["--stage", "maintain", "--config", str(CONFIG), "--run-id", "r1"]


def test_interval_arguments_are_checked():
    from datetime import UTC, datetime

    from pipelines.errors import ConfigError
    from pipelines.orchestration.runner import parse_interval

    start, end = parse_interval("2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00")
    assert (start, end) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC))
    assert parse_interval(None, None) is None and parse_interval("", "") is None
    for bad in (("2026-01-02", "2026-01-01"), ("soon", "later"), ("2026-01-01T00:00:00", None)):
        with pytest.raises(ConfigError):
            parse_interval(*bad)
