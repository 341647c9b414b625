"""Every DAG run writes its report: the ``run_report`` task each DAG ends with, as Airflow loads
it and as ``dag.test()`` runs it after a stand-in spark-submit (which records each stage's
result as the real jobs do), for a failed run and for one whose evaluation gate skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.airflow_env import REPO, airflow_env, dag_test, migrate

from pipelines.config import load_settings
from pipelines.report import report_path

CONFIG = REPO / "pipelines.example.toml"
DAG_IDS = ["catalog_embeddings", "recs_and_dedup", "user_events"]

WIRING = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
found = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    task = dag.task_dict.get("run_report")
    found["dags"][dag_id] = task and {
        "type": type(task).__name__, "teardown": task.is_teardown,
        "trigger_rule": task.trigger_rule.value, "downstream": sorted(task.downstream_task_ids),
        "upstream": sorted(task.get_flat_relative_ids(upstream=True)),
        "others": sorted(t for t in dag.task_ids if t != "run_report"),
        "op_args": list(task.op_args), "retries": task.retries,
    }
print("WIRING " + json.dumps(found))
"""

FAKE_SPARK = """#!{python}
import os, sys
from pathlib import Path
from pipelines.report import record_stage_results
argv = sys.argv[1:]
stage, run_id = argv[argv.index("--stage") + 1], argv[argv.index("--run-id") + 1]
code = int(os.environ.get("FAKE_SPARK_EXIT_" + stage.replace("-", "_"), "0"))
result = {{"stage": stage, "seconds": 0.5}} | ({{"error": "exit %d" % code}} if code else {{}})
record_stage_results(Path(os.environ["FAKE_REPORTS"]), run_id, [result])
sys.exit(code)
"""


def test_every_dag_ends_with_a_run_report_teardown(tmp_path):
    env = airflow_env(tmp_path / "airflow", CONFIG)
    done = subprocess.run(
        [sys.executable, "-c", WIRING, str(REPO / "dags")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith("WIRING ")), None)
    assert line, done.stderr[-3000:]
    found = json.loads(line.removeprefix("WIRING "))
    assert found["import_errors"] == {}
    assert sorted(found["dags"]) == DAG_IDS
    for dag_id, task in found["dags"].items():
        assert task, f"{dag_id} has no run_report task"
        assert task["type"] == "PythonOperator", dag_id
        # a teardown with no setups runs once every task before it is done, whatever its
        # state, and its own success does not turn a failed run into a successful one
        assert task["teardown"] and task["trigger_rule"] == "all_done_setup_success", dag_id
        assert task["downstream"] == [] and task["upstream"] == task["others"], dag_id
        assert task["op_args"] == [str(CONFIG), "{{ run_id }}"], dag_id
        assert task["retries"] >= 1, dag_id


@pytest.fixture(scope="module")
def airflow_run(tmp_path_factory):
    """A migrated Airflow whose spark-submit records stage results and exits as told."""
    folder = tmp_path_factory.mktemp("run-report")
    config = folder / "pipelines.toml"
    config.write_text('[lake]\nroot = "lake"\n')
    fake = folder / "fake-bin" / "spark-submit"
    fake.parent.mkdir()
    fake.write_text(FAKE_SPARK.format(python=sys.executable))
    fake.chmod(0o755)
    env = airflow_env(folder / "airflow", config)
    env.update(
        PATH=f"{fake.parent}:{os.path.dirname(sys.executable)}:/usr/bin:/bin",
        FAKE_REPORTS=str(folder / "lake" / "reports"),
    )
    migrate(env)
    return env, load_settings(config)


def _new_report(settings, before: set[Path]) -> str:
    """The one report the run wrote, among the reports of the lake's runs."""
    folder = report_path(settings, "any").parent
    [page] = set(folder.glob("*.html")) - before if folder.is_dir() else []
    return page.read_text()


def _reports(settings) -> set[Path]:
    return set(report_path(settings, "any").parent.glob("*.html"))


@pytest.mark.slow
def test_a_failed_run_still_gets_its_report_and_stays_failed(airflow_run):
    env, settings = airflow_run
    before = _reports(settings)
    result = dag_test({**env, "FAKE_SPARK_EXIT_validate_users": "2"}, "user_events")
    assert result["tasks"]["validate_users"] == "failed"
    assert result["tasks"]["recs_users"] == "upstream_failed"
    assert result["tasks"]["run_report"] == "success", result
    assert result["state"] == "failed", "the report's success must not hide the failure"
    page = _new_report(settings, before)
    assert "embed-events" in page and "validate-users" in page and "exit 2" in page


@pytest.mark.slow
def test_the_evaluation_gate_does_not_skip_the_report(airflow_run):
    env, settings = airflow_run
    before = _reports(settings)
    result = dag_test(env, "recs_and_dedup")
    assert result["tasks"]["evaluate"] == "skipped"  # no evaluation set in these settings
    assert result["tasks"]["run_report"] == "success", result
    assert result["state"] == "success"
    assert "recs-items" in _new_report(settings, before)


def test_the_task_skips_with_the_reason_when_the_run_left_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    from airflow.sdk.exceptions import AirflowSkipException

    from pipelines.orchestration.dags import write_report

    config = tmp_path / "pipelines.toml"
    config.write_text('[lake]\nroot = "lake"\n')
    with pytest.raises(AirflowSkipException, match="committed nothing"):
        write_report(str(config), "manual__2026-01-01T00:00:00+00:00")
    with pytest.raises(AirflowSkipException, match="does not exist"):
        write_report(str(tmp_path / "missing.toml"), "r1")
