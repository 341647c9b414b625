"""Every DAG imports cleanly, fast, without heavy imports, and follows the house rules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from airflow_env import REPO, airflow_env

HEAVY = ("pyspark", "torch", "sentence_transformers", "transformers", "great_expectations")

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
bag = DagBag(dag_folder=sys.argv[1])
report["import_errors"] = {k: str(v) for k, v in bag.import_errors.items()}
for dag_id, dag in bag.dags.items():
    report["dags"][dag_id] = {
        "tags": sorted(dag.tags), "doc_md": bool(dag.doc_md), "schedule": str(dag.schedule),
        "interval_s": _interval_seconds(dag),
        "tasks": {t.task_id: {"owner": t.owner, "retries": t.retries,
                              "backoff": t.retry_exponential_backoff} for t in dag.tasks},
    }
print("REPORT " + json.dumps(report))
"""


def _inspect(tmp_path_factory, script: str, marker: str) -> dict:
    """Run ``script`` over the DAG folder in a fresh interpreter; its ``marker`` JSON line."""
    env = airflow_env(tmp_path_factory.mktemp("airflow"), REPO / "pipelines.example.toml")
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


def test_no_import_errors(report):
    assert report["import_errors"] == {}
    assert "catalog_embeddings" in report["dags"]


def test_dag_files_import_fast_without_heavy_modules(report):
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


RECS_GRAPH = """
import json, os, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["recs_and_dedup"]
gate = dag.get_task("evaluation_configured")
before = set(sys.modules)
decisions = [gate.python_callable(*gate.op_args)]
os.environ["PIPELINES__EVALUATE__RECS_ITEMS"] = "true"
decisions.append(gate.python_callable(*gate.op_args))
def outlets(dag):
    return {t.task_id: sorted([a.name, a.uri] for a in t.outlets) for t in dag.tasks}
report = {
    "downstream": {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},
    "operators": {t.task_id: type(t).__name__ for t in dag.tasks},
    "outlets": {t.task_id: sorted(a.uri for a in t.outlets) for t in dag.tasks},
    "schedule": sorted([a.name, a.uri] for a in dag.timetable.asset_condition.objects),
    "catalog_outlets": outlets(bag.dags["catalog_embeddings"]),
    "user_outlets": outlets(bag.dags["user_events"]),
    "gate_decisions": decisions,
    "gate_heavy": sorted(m for m in set(sys.modules) - before if m.split(".")[0] in sys.argv[2:]),
}
print("GRAPH " + json.dumps(report, default=str))
"""
RECS_TASKS = ["neighbors", "dedup", "recs_items", "evaluation_configured", "evaluate"]
USER_TASKS = [
    "embed_events", "validate_users", "publish_users", "reconcile_users", "cooccurrence",
    "recs_users",
]  # fmt: skip


@pytest.fixture(scope="module")
def recs_graph(tmp_path_factory):
    return _inspect(tmp_path_factory, RECS_GRAPH, "GRAPH")


def test_recs_and_dedup_imports_clean_and_light(report):
    assert "recs_and_dedup" in report["dags"]
    file = report["files"]["recs_and_dedup.py"]
    assert file["heavy"] == [], file
    dag = report["dags"]["recs_and_dedup"]
    assert dag["tags"] and dag["doc_md"]
    assert sorted(dag["tasks"]) == sorted(RECS_TASKS)


def test_recs_and_dedup_task_graph(recs_graph):
    assert recs_graph["downstream"] == {
        "neighbors": ["dedup"],
        "dedup": ["recs_items"],
        "recs_items": ["evaluation_configured"],
        "evaluation_configured": ["evaluate"],
        "evaluate": [],
    }
    operators = recs_graph["operators"]
    assert operators.pop("evaluation_configured") == "ShortCircuitOperator"
    assert set(operators.values()) == {"SparkJobOperator"}


def test_recs_and_dedup_runs_on_the_validated_catalog_only(recs_graph):
    catalog = recs_graph["catalog_outlets"]
    [table] = catalog["embed_catalog"]  # still produced: lineage of every new version
    assert table[0] == "embeddings_catalog" and table[1].endswith("/embeddings/catalog")
    [validated] = catalog["validate_catalog"]
    assert validated[0] == "embeddings_catalog_validated"
    assert validated[1] != table[1], "Airflow would take both for one asset"
    assert recs_graph["schedule"] == [validated], "a version that failed validation is not read"


def test_validate_users_produces_the_validated_users_asset(recs_graph):
    users = recs_graph["user_outlets"]
    assert [name for name, _ in users["embed_events"]] == ["embeddings_users", "events_clean"]
    [[name, uri]] = users["validate_users"]
    assert name == "embeddings_users_validated"
    assert uri not in {uri for _, uri in users["embed_events"]}


def test_recs_and_dedup_declares_its_tables(recs_graph):
    outlets = recs_graph["outlets"]
    for task_id, table in [
        ("neighbors", "neighbors/catalog"),
        ("dedup", "dedup/clusters"),
        ("recs_items", "recs/item_to_item"),
    ]:
        [uri] = outlets[task_id]
        assert uri.startswith("file://") and uri.endswith(f"/{table}"), (task_id, uri)
    assert outlets["evaluation_configured"] == outlets["evaluate"] == []


def test_recs_and_dedup_evaluates_only_when_an_evaluation_set_is_configured(recs_graph):
    # the example settings configure no evaluation; the environment override turns it on
    assert recs_graph["gate_decisions"] == [False, True]
    assert recs_graph["gate_heavy"] == [], "the gate runs in an Airflow worker: keep it light"


def test_user_events_is_hourly_and_passes_the_data_interval(report):
    dag = report["dags"]["user_events"]
    assert report["files"]["user_events.py"]["heavy"] == []
    assert dag["interval_s"] == 3600, "each scheduled run must cover one hour of events"
    assert sorted(dag["tasks"]) == sorted(USER_TASKS)
    assert dag["tasks"]["validate_users"]["retries"] == 0, "a failed check does not pass on retry"


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
    "events": {"scheduled": args("user_events", "embed_events"),
               "manual": args("user_events", "embed_events", "manual")},
    "params": params,
    "maintain": maintain and {
        "upstream": sorted(maintain.upstream_task_ids),
        "downstream": sorted(maintain.downstream_task_ids),
        "trigger_rule": maintain.trigger_rule.value, "teardown": maintain.is_teardown,
        "application": maintain.application},
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


def test_maintenance_runs_last_and_after_failures_too(rendered):
    maintain = rendered["maintain"]
    assert maintain, "catalog_embeddings has no maintain task"
    assert maintain["upstream"] == ["reconcile_catalog"] and maintain["downstream"] == []
    # a teardown: runs once upstream is done, whatever its state, and leaves the run's state
    # to the tasks before it
    assert maintain["teardown"] and maintain["trigger_rule"] == "all_done_setup_success"
    assert maintain["application"] == str(REPO / "jobs/maintain.py")
    assert (REPO / "jobs/maintain.py").is_file()


def test_interval_arguments_are_checked():
    from datetime import UTC, datetime

    from pipelines.errors import ConfigError
    from pipelines.orchestration.runner import parse_interval

    start, end = parse_interval("2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00")
    assert (start, end) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC))
    assert parse_interval(None, None) is None and parse_interval("", "") is None
    for bad in (("2026-01-01T00:00:00", None), ("2026-01-02", "2026-01-01"), ("soon", "later")):
        with pytest.raises(ConfigError):
            parse_interval(*bad)
