"""The "Run report" tab's server side, through FastAPI's TestClient: the app mounted as the
api-server mounts it, the run's report found (or written) by its run id, an unknown run, a
run still going, Airflow's login required, and the plugin's wiring. Airflow's metadata
database and login are replaced by dependency overrides where a test is not about them."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from urllib.parse import quote, urljoin

import pytest

from pipelines.config import load_settings
from pipelines.report import record_stage_results, report_path
from pipelines.report.build import reports_dir

REPO = Path(__file__).resolve().parents[2]
RUN = "scheduled__2026-03-01T05:00:00+00:00"  # ':' and '+' travel URL-encoded
DAG = "catalog_embeddings"


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    """The view module, with Airflow imported under a throwaway AIRFLOW_HOME."""
    home = os.environ.get("AIRFLOW_HOME")
    os.environ["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow-home"))
    try:
        from pipelines.orchestration import report_view

        yield report_view
    finally:
        if home is None:
            os.environ.pop("AIRFLOW_HOME", None)
        else:
            os.environ["AIRFLOW_HOME"] = home


@pytest.fixture
def settings(tmp_path, monkeypatch):
    config = tmp_path / "pipelines.toml"
    config.write_text('[lake]\nroot = "lake"\n')
    monkeypatch.setenv("PIPELINES_CONFIG", str(config))
    return load_settings(config)


@pytest.fixture
def runs(view):
    """Airflow's runs as (dag id, run id) -> state; the login passes."""
    states: dict[tuple[str, str], str] = {}
    view.app.dependency_overrides[view.dag_run_state] = lambda dag_id, run_id: states.get(
        (dag_id, run_id)
    )
    view.app.dependency_overrides[view.authorized] = lambda: None
    yield states
    view.app.dependency_overrides.clear()


def client(view):
    """The app under its prefix in a parent app, as Airflow's api-server mounts it."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    server = FastAPI()
    server.mount(view.URL_PREFIX, view.app)
    return TestClient(server)


def url(view, run_id: str = RUN, dag_id: str = DAG) -> str:
    return f"{view.URL_PREFIX}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def recorded(settings, run_id: str = RUN) -> None:
    stage = {"stage": "embed-catalog", "rows_read": 60, "embedded": 57, "quarantined": 3}
    record_stage_results(reports_dir(settings), run_id, [stage])


def test_a_finished_runs_report_is_written_on_demand_and_served(view, settings, runs):
    runs[DAG, RUN] = "success"
    recorded(settings)
    response = client(view).get(url(view))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "<h2>Stages</h2>" in response.text and "embed-catalog" in response.text
    written = report_path(settings, RUN)
    assert written.read_text() == response.text
    leftovers = [p.name for p in written.parent.iterdir() if p.is_file() and p != written]
    assert leftovers == [], "the request's own scratch file is not left behind"


def test_a_written_report_is_served_as_the_task_wrote_it(view, settings, runs):
    runs[DAG, RUN] = "failed"
    written = report_path(settings, RUN)
    written.parent.mkdir(parents=True)
    written.write_text("<html><body><h1>written by run_report</h1></body></html>")
    response = client(view).get(url(view))
    assert response.status_code == 200
    assert response.text == written.read_text()


def test_an_unknown_run_is_a_404_page_naming_it(view, settings, runs):
    runs[DAG, RUN] = "success"
    response = client(view).get(url(view, run_id="manual__2026-01-01T00:00:00+00:00"))
    assert response.status_code == 404
    assert "No such run" in response.text
    assert "DAG catalog_embeddings has no run manual__2026-01-01T00:00:00+00:00" in response.text
    other_dag = client(view).get(url(view, dag_id="user_events"))
    assert other_dag.status_code == 404, "run ids are unique per DAG only"


def test_a_run_still_going_says_its_report_is_not_written_yet(view, settings, runs):
    runs[DAG, RUN] = "running"
    recorded(settings)
    response = client(view).get(url(view))
    assert response.status_code == 200
    assert "Report not written yet" in response.text and "is running" in response.text
    assert '<meta http-equiv="refresh" content="30">' in response.text
    assert not report_path(settings, RUN).exists(), "a half-done run's report is not kept"


def test_a_finished_run_that_left_no_trace_has_nothing_to_report(view, settings, runs):
    runs[DAG, RUN] = "failed"
    response = client(view).get(url(view))
    assert response.status_code == 200
    assert "Nothing to report" in response.text and "committed nothing" in response.text
    assert not report_path(settings, RUN).exists()


def test_settings_that_do_not_load_are_a_500_page_naming_the_variable(
    view, settings, runs, monkeypatch, tmp_path
):
    runs[DAG, RUN] = "success"
    monkeypatch.setenv("PIPELINES_CONFIG", str(tmp_path / "missing.toml"))
    response = client(view).get(url(view))
    assert response.status_code == 500
    assert "missing.toml" in response.text and "PIPELINES_CONFIG" in response.text


def test_without_an_airflow_login_the_page_is_a_401(view, settings):
    view.app.dependency_overrides[view.dag_run_state] = lambda dag_id, run_id: "success"
    try:
        response = client(view).get(url(view))
    finally:
        view.app.dependency_overrides.clear()
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "Log in to Airflow" in response.text


def test_the_plugin_mounts_the_app_and_adds_the_tab_to_the_run_page(view, settings, runs):
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    spec = importlib.util.spec_from_file_location(
        "run_report_plugin", REPO / "plugins" / "run_report_plugin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = module.RunReportPlugin
    [mounted] = plugin.fastapi_apps
    assert mounted["app"] is view.app and mounted["url_prefix"] == view.URL_PREFIX
    assert not any(view.URL_PREFIX.startswith(prefix) for prefix in RESERVED_URL_PREFIXES)
    [tab] = [ExternalViewResponse(**v) for v in plugin.external_views]
    assert (tab.name, tab.destination, tab.url_route) == ("Run report", "dag_run", "run-report")

    # what the UI does with the href: ids through encodeURIComponent, then resolved against
    # its <base href> (the api-server's root path)
    assert not tab.href.startswith("/")
    filled = tab.href.replace("{DAG_ID}", quote(DAG, safe="")).replace(
        "{RUN_ID}", quote(RUN, safe="")
    )
    runs[DAG, RUN] = "success"
    recorded(settings)
    response = client(view).get(urljoin("http://testserver/", filled))
    assert response.status_code == 200 and f"Run {RUN}" in response.text
