"""Each DAG run's HTML report (``pipelines.report``) inside Airflow: a FastAPI app that
``plugins/run_report_plugin.py`` mounts in the api-server at ``URL_PREFIX``, behind Airflow's
own login, and the external view that shows it as a "Run report" tab on the run's page.

``GET {URL_PREFIX}/dags/{dag_id}/runs/{run_id}`` answers with the report the run's
``run_report`` task wrote; for a finished run without one (an older run, a skipped task) it
writes the report first. An unknown run is a 404 page; a run still going says its report is
not written yet and reloads itself.
"""

from __future__ import annotations

import logging
import os
import tempfile
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException

from pipelines.errors import ConfigError, InputError
from pipelines.orchestration.dags import config_path

if TYPE_CHECKING:
    from pipelines.config import Settings

log = logging.getLogger(__name__)
URL_PREFIX = "/pipelines-report"
ROUTE = "/dags/{dag_id}/runs/{run_id:path}"
# the UI puts the ids in with encodeURIComponent (':' and '+' of run ids arrive as %3A, %2B)
# and resolves an href without a leading '/' against its <base href>, so the tab also works
# when [api] base_url has a path
EXTERNAL_VIEW = {
    "name": "Run report",
    "href": URL_PREFIX.lstrip("/") + "/dags/{DAG_ID}/runs/{RUN_ID}",
    "destination": "dag_run",
    "url_route": "run-report",
}
FINISHED = ("success", "failed")
RELOAD_S = 30
# a report is rewritten when a run's task is cleared and runs again
NO_STORE = {"Cache-Control": "no-store"}
STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:2rem;color:#1f2933}"
    "h1{font-size:1.3rem}code{background:#eef2f6;padding:0 .3em;border-radius:3px}"
)
AUTH_HINTS = {
    401: "Log in to Airflow first: the run report is served behind Airflow's own login.",
    403: "Your Airflow user may not read this DAG's runs.",
}

app = FastAPI(title="Pipelines run report", docs_url=None, redoc_url=None, openapi_url=None)
# Airflow's own check, as its REST API's run endpoints make it: the logged-in user (the UI's
# session cookie, or a bearer token) may read this DAG's runs
authorized = requires_access_dag("GET", DagAccessEntity.RUN)


def dag_run_state(dag_id: str, run_id: str, session: SessionDep) -> str | None:
    """The run's state in Airflow's metadata database; None for a run Airflow does not know."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    query = select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    run = session.scalars(query).first()
    return None if run is None else str(getattr(run.state, "value", run.state))


@app.get(ROUTE, dependencies=[Depends(authorized)])
def run_report(
    dag_id: str, run_id: str, state: Annotated[str | None, Depends(dag_run_state)]
) -> Response:
    if state is None:
        return page(404, "No such run", f"DAG {dag_id} has no run {run_id}.")
    from pipelines.config import load_settings
    from pipelines.report import report_path

    try:
        settings = load_settings(config_path())
    except ConfigError as exc:
        return page(500, "The pipeline's settings do not load", f"{exc} (PIPELINES_CONFIG)")
    path = report_path(settings, run_id)
    if path.is_file():
        return report(path)
    if state not in FINISHED:
        return page(
            200,
            "Report not written yet",
            f"Run {run_id} of {dag_id} is {state}. Its last task, run_report, writes the"
            f" report once every other task is done; this page reloads every {RELOAD_S} s.",
            reload=True,
        )
    try:
        return report(write_now(settings, run_id))
    except InputError as exc:
        return page(200, "Nothing to report", f"Run {run_id} of {dag_id} ({state}): {exc}")
    except Exception as exc:
        log.exception("the report of run %s could not be written", run_id)
        return page(500, "The report could not be written", f"{type(exc).__name__}: {exc}")


def write_now(settings: Settings, run_id: str) -> Path:
    """Write the report where the run's task would have, through a file of this request's own
    so that two requests (or the task) writing at once never mix their pages."""
    from pipelines.report import report_path, write_run_report

    target = report_path(settings, run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".view")
    os.close(handle)
    try:
        os.replace(write_run_report(settings, run_id, out=Path(scratch)), target)
    finally:
        Path(scratch).unlink(missing_ok=True)
    return target


def report(path: Path) -> FileResponse:
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=NO_STORE)


def page(status: int, title: str, message: str, *, reload: bool = False) -> HTMLResponse:
    """A small self-contained page, shown in the tab's frame in place of a report."""
    refresh = f'<meta http-equiv="refresh" content="{RELOAD_S}">' if reload else ""
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{refresh}'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


@app.exception_handler(HTTPException)
async def error_page(request: Request, exc: HTTPException) -> HTMLResponse:
    """Airflow's 401 and 403 (and any other HTTP error) as a page the tab's frame can show."""
    message = AUTH_HINTS.get(exc.status_code, str(exc.detail))
    response = page(exc.status_code, f"{exc.status_code}: {exc.detail}", message)
    response.headers.update(exc.headers or {})
    return response
