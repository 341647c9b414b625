"""End to end through a running Airflow: scheduler, dag-processor and api-server started
here, the DAG triggered through the REST API, its runs page checked in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from helpers.airflow_env import REPO, airflow_env, airflow_services, migrate
from test_catalog_dag import sample_config
from test_scale_out import _free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCREENSHOTS = REPO / "tests" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,900", "--virtual-time-budget=20000",
]  # fmt: skip


def ensure_chromium() -> str:
    """Debian's chromium, installed by apt-get when missing (CI runs as root)."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
        subprocess.run(install, check=True, capture_output=True)
        found = shutil.which("chromium")
    assert found, "chromium is not installed and apt-get could not install it"
    return found


class Api:
    def __init__(self, base: str):
        self.base = base
        self.token = ""

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:2000]
            raise AssertionError(f"{method} {path}: HTTP {exc.code}: {detail}") from None

    def wait(self, path: str, done, seconds: float, what: str) -> dict:
        deadline, last = time.monotonic() + seconds, None
        while time.monotonic() < deadline:
            try:
                last = self.call("GET", path)
                if done(last):
                    return last
            except (OSError, AssertionError) as exc:  # not up yet, or 404 before parsing
                last = exc
            time.sleep(2)
        raise TimeoutError(f"{what} not reached after {seconds}s; last answer: {last}")


@pytest.fixture
def running_airflow(tmp_path):
    port = _free_port()
    env = airflow_env(
        tmp_path / "airflow",
        sample_config(tmp_path, n_items=60),
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API_AUTH__JWT_SECRET="e2e-test-secret-not-used-elsewhere",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
    )
    migrate(env)
    logs = tmp_path / "logs"
    services = (["api-server", "--port", str(port)], ["scheduler"], ["dag-processor"])
    with airflow_services(env, logs, *services):
        yield f"http://127.0.0.1:{port}", logs


def test_trigger_through_rest_and_see_it_in_the_ui(running_airflow):
    base, logs = running_airflow
    api = Api(base)
    api.wait("/api/v2/monitor/health", lambda r: "metadatabase" in r, 120, "api-server health")
    api.token = api.call("GET", "/auth/token")["access_token"]  # all-admins mode: no password
    api.wait("/api/v2/dags/catalog_embeddings", lambda r: r.get("dag_id"), 180, "DAG parsed")
    api.call("PATCH", "/api/v2/dags/catalog_embeddings", {"is_paused": False})
    run = api.call("POST", "/api/v2/dags/catalog_embeddings/dagRuns", {"logical_date": None})
    run_id = run["dag_run_id"]
    path = f"/api/v2/dags/catalog_embeddings/dagRuns/{urllib.parse.quote(run_id)}"
    final = api.wait(path, lambda r: r["state"] in ("success", "failed"), 900, "a final state")
    assert final["state"] == "success", (logs / "scheduler.log").read_text()[-5000:]

    chromium = ensure_chromium()
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / "catalog_embeddings_runs.png"
    page = f"{base}/dags/catalog_embeddings/runs"
    subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--screenshot={shot}", page],
        check=True,
        capture_output=True,
        timeout=120,
    )
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, "--dump-dom", page],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert Path(shot).stat().st_size > 10_000
    assert run_id in dom and "success" in dom.lower()
