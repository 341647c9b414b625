"""The run report in headless Chromium: every section there, every chart drawn with a size
and shapes in it, and a screenshot kept in tests/screenshots/."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.report import write_run_report
from pipelines.report.build import SECTIONS

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,2400", "--virtual-time-budget=5000",
]  # fmt: skip
# added to a copy of the page only: the report itself holds no script
PROBE = """<script>
addEventListener("load", () => {
  const sections = [...document.querySelectorAll("section")].map(s => ({
    id: s.id, title: s.querySelector("h2")?.textContent,
    charts: [...s.querySelectorAll("svg.chart")].map(c => {
      const box = c.getBoundingClientRect();
      return {width: box.width, height: box.height,
              shapes: c.querySelectorAll("rect.bar, circle, polyline").length};
    }),
    images: [...s.querySelectorAll("img")].map(i => i.naturalWidth),
  }));
  document.body.setAttribute("data-probe", JSON.stringify(sections));
});
</script>"""


def _chromium(*args: str) -> str:
    done = subprocess.run(
        [CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def probed(report_lake, tmp_path_factory):
    report = write_run_report(report_lake.settings, "run-1")
    page = tmp_path_factory.mktemp("browser") / "probed.html"
    page.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    dom = _chromium("--dump-dom", page.as_uri())
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, f"the probe did not run; the page as Chromium left it:\n{dom[:2000]}"
    return report, {s["id"]: s for s in json.loads(html.unescape(found.group(1)))}


def test_every_section_is_in_the_page_with_its_title(probed):
    _, sections = probed
    assert list(sections) == list(SECTIONS)
    assert [s["title"] for s in sections.values()] == list(SECTIONS.values())


def test_every_chart_renders_with_a_size_and_shapes(probed):
    _, sections = probed
    charts = {key: s["charts"] for key, s in sections.items() if s["charts"]}
    assert {"map", "scores"} <= set(charts)
    for key, drawn in charts.items():
        for chart in drawn:
            assert chart["width"] > 100 and chart["height"] > 100, key
            assert chart["shapes"] > 0, key
    assert all(width > 0 for s in sections.values() for width in s["images"])


def test_a_screenshot_of_the_report_is_kept(probed):
    report, _ = probed
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / "run_report.png"
    _chromium(f"--screenshot={shot}", report.as_uri())
    assert shot.stat().st_size > 20_000
