"""The report's parts without a lake: charts, tables, stage results kept per run."""

from __future__ import annotations

import re

import numpy as np

from pipelines.report import read_stage_results, record_stage_results
from pipelines.report.charts import Marker, histogram, line_chart, scatter
from pipelines.report.html import missing, table
from pipelines.runtime.context import StageResult


def test_histogram_draws_bars_and_labelled_markers():
    svg = histogram(
        np.linspace(0, 1, 101), title="t", xlabel="x", markers=[Marker(0.6, "cut")], bins=10
    )
    assert svg.startswith('<svg class="chart"') and svg.endswith("</svg>")
    assert svg.count('class="bar"') == 10 and "cut 0.6" in svg


def test_histogram_on_a_log_scale_keeps_single_counts_visible():
    svg = histogram([0.0] * 900 + [1.0], title="t", xlabel="x", log_count=True, bins=4)
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" class="bar"', svg)]
    assert len(heights) == 2 and min(heights) > 10
    assert ">1,000<" not in svg and ">100<" in svg


def test_line_chart_ticks_versions_as_whole_numbers():
    svg = line_chart({"shift": [(3, 0.01)]}, title="t", xlabel="version", ylabel="y")
    ticks = re.findall(r'class="tick mid">([^<]+)<', svg)
    assert ticks and all(t.lstrip("-").isdigit() for t in ticks)


def test_scatter_rings_highlighted_points_and_escapes_labels():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.2]])
    svg = scatter(points, ["a", "b", "a"], [False, True, False], ["x<y", "b", "c"], title="m")
    assert svg.count("<circle") == 3 + 3  # the points, two groups and the ring in the legend
    assert "x&lt;y" in svg and svg.count('stroke="#111"') == 2


def test_tables_escape_and_missing_says_not_run_yet():
    html = table(["a", "b"], [["<b>", 1.23456], [None, 3]])
    assert "&lt;b&gt;" in html and ">1.235<" in html and ">3<" in html
    assert "not run yet: x; run y" in missing("x", "run y")


def test_stage_results_are_kept_per_run_one_file_per_stage(tmp_path):
    results = [StageResult("embed-catalog", rows_read=3, seconds=1.5), StageResult("neighbors")]
    folder = record_stage_results(tmp_path, "scheduled__2026-01-01T00:00:00+00:00", results)
    assert sorted(p.name for p in folder.iterdir()) == ["embed-catalog.json", "neighbors.json"]
    found = read_stage_results(tmp_path, "scheduled__2026-01-01T00:00:00+00:00")
    assert [r["stage"] for r in found] == ["embed-catalog", "neighbors"]
    assert found[0]["seconds"] == 1.5 and found[0]["run_id"].startswith("scheduled__")
    assert read_stage_results(tmp_path, "another") == []


def test_stages_show_recorded_results_and_a_failed_stage(tmp_path):
    from pipelines.report.lake import LakeView
    from pipelines.report.sections_run import stages_section

    reports = tmp_path / "reports"
    done = StageResult("embed-catalog", rows_read=7, embedded=5, quarantined=2, seconds=3.25)
    record_stage_results(reports, "r1", [done, {"stage": "validate-catalog", "error": "drift"}])
    body = stages_section(LakeView(tmp_path / "lake", "r1"), reports)
    assert "Stage results" in body and ">3.25<" in body and "<th>error</th>" in body
    assert ">drift<" in body and "committed no table" in body
    assert "not run yet: run r2 recorded nothing" in stages_section(
        LakeView(tmp_path / "lake", "r2"), reports
    )
