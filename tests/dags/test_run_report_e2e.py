"""The "Run report" tab in a running Airflow: the api-server loads the plugin from the repo's
plugins/ folder, a user logs in through Airflow's own login page in headless Chromium
(driven over the DevTools protocol), opens a DAG run's page and its "Run report" tab, and the
report loads in it. No scheduler: the run is created through the REST API and its report
written as its run_report task would write it, so no Spark job runs here."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers.airflow_env import REPO, airflow, airflow_env, airflow_services, migrate
from test_airflow_e2e import Api
from test_scale_out import _free_port

from pipelines.config import load_settings
from pipelines.report import record_stage_results, write_run_report
from pipelines.report.build import reports_dir

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
SCREENSHOT = REPO / "tests" / "screenshots" / "run_report_tab.png"
DAG = "catalog_embeddings"
RUN = "manual__2026-01-01T00:00:00+00:00"  # holds ":" and "+", as Airflow's run ids do
QUEUED = "manual__2026-01-02T00:00:00+00:00"
USER, PASSWORD = "admin", "e2e-password-not-used-elsewhere"


class Browser:
    """One headless Chromium tab, driven over the DevTools protocol."""

    def __init__(self, profile: Path):
        from websockets.sync.client import connect

        port = _free_port()
        self.process = subprocess.Popen(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1400,900", f"--user-data-dir={profile}",
                f"--remote-debugging-port={port}", "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        targets = self._wait(lambda: self._targets(port), 60, "Chromium's DevTools")
        page = next(t for t in targets if t["type"] == "page")
        self.socket = connect(page["webSocketDebuggerUrl"], max_size=None)
        self.calls = 0

    @staticmethod
    def _targets(port: int) -> list | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                return [t for t in json.loads(r.read()) if t["type"] == "page"] or None
        except OSError:
            return None

    @staticmethod
    def _wait(probe, seconds: float, what: str):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(0.5)
        raise TimeoutError(f"{what} not there after {seconds}s")

    def send(self, method: str, **params) -> dict:
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:  # events arrive in between; only this call's answer counts
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.calls:
                assert "error" not in message, f"{method}: {message['error']}"
                return message.get("result", {})

    def evaluate(self, expression: str):
        found = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return found["result"].get("value")

    def wait_for(self, expression: str, seconds: float, what: str):
        try:
            return self._wait(lambda: self.evaluate(expression), seconds, what)
        except TimeoutError:
            text = self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
            where = self.evaluate("location.href")
            raise TimeoutError(f"{what}; the page ({where}):\n{text}") from None

    def type_into(self, selector: str, text: str) -> None:
        """Real key input (React sees it), not a value set from script."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot")["data"]))

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def api_server(tmp_path):
    """The api-server alone, with the plugin, a password login and a lake holding RUN's report
    and stage results."""
    config = tmp_path / "pipelines.toml"
    config.write_text('[lake]\nroot = "lake"\n')
    settings = load_settings(config)
    result = {"stage": "embed-catalog", "rows_read": 60, "embedded": 57, "quarantined": 3}
    record_stage_results(reports_dir(settings), RUN, [result])
    write_run_report(settings, RUN)
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    port = _free_port()
    env = airflow_env(
        home,
        config,
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API_AUTH__JWT_SECRET="e2e-test-secret-not-used-elsewhere",
    )
    migrate(env)
    parsed = airflow(env, "dags", "reserialize", timeout=300)
    assert parsed.returncode == 0, parsed.stderr[-3000:]
    with airflow_services(env, tmp_path / "logs", ["api-server", "--port", str(port)]):
        api = Api(f"http://127.0.0.1:{port}")
        api.wait("/api/v2/monitor/health", lambda r: "metadatabase" in r, 120, "api-server")
        yield api, tmp_path


def _get(url: str, token: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _login(api: Api) -> str:
    body = json.dumps({"username": USER, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"{api.base}/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


def test_the_run_report_tab_shows_the_report_after_an_airflow_login(api_server):
    api, folder = api_server
    api.token = _login(api)
    assert api.call("GET", f"/api/v2/dags/{DAG}")["is_paused"] is False
    for run_id in (RUN, QUEUED):
        api.call(
            "POST", f"/api/v2/dags/{DAG}/dagRuns", {"dag_run_id": run_id, "logical_date": None}
        )

    # the plugin's page is behind Airflow's login; the run id travels URL-encoded
    report_url = f"{api.base}/pipelines-report/dags/{DAG}/runs/{quote(RUN, safe='')}"
    status, page = _get(report_url)
    assert status == 401 and "Log in to Airflow" in page
    status, page = _get(report_url, api.token)
    assert status == 200 and "<h2>Stages</h2>" in page
    status, page = _get(report_url.replace(quote(RUN, safe=""), quote(QUEUED, safe="")), api.token)
    assert status == 200 and "Report not written yet" in page
    status, page = _get(report_url.replace(DAG, "user_events"), api.token)
    assert status == 404 and "No such run" in page

    browser = Browser(folder / "chromium")
    try:
        tab = f"{api.base}/dags/{DAG}/runs/{quote(RUN, safe='')}/plugin/run-report"
        browser.send("Page.navigate", url=tab)
        browser.wait_for("!!document.querySelector('input[name=password]')", 60, "login page")
        browser.type_into("input[name=username]", USER)
        browser.type_into("input[name=password]", PASSWORD)
        browser.evaluate("document.querySelector('button[type=submit]').click()")
        frame = "document.querySelector('iframe[title=\"Run report\"]')"
        text = browser.wait_for(
            f"(() => {{ const f = {frame}; const body = f && f.contentDocument"
            " && f.contentDocument.body; return body && body.innerText.includes('Stages')"
            " ? body.innerText : null; })()",
            90,
            "the report in the Run report tab",
        )
        assert f"Run {RUN}" in text and "embed-catalog" in text
        assert browser.evaluate("location.pathname").endswith("/plugin/run-report")
        tabs = "[...document.querySelectorAll('a')].map(a => a.textContent.trim())"
        assert "Run report" in browser.evaluate(tabs)
        browser.screenshot(SCREENSHOT)
    finally:
        browser.close()
    assert SCREENSHOT.stat().st_size > 20_000
