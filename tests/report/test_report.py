"""The run report on a small sample lake: every section rendered from the tables, images
inline, nothing fetched from the network, and "not run yet" where a table is missing."""

from __future__ import annotations

import argparse
import re
import shutil
import time

import pytest

from pipelines.errors import InputError
from pipelines.report import main, report_path, write_run_report
from pipelines.report.build import SECTIONS

pytestmark = pytest.mark.slow
SECTION = re.compile(
    r'<section id="(?P<id>[a-z]+)"><h2>(?P<title>[^<]+)</h2>(?P<body>.*?)</section>', re.S
)


def sections(html: str) -> dict[str, str]:
    return {m["id"]: m["body"] for m in SECTION.finditer(html)}


@pytest.fixture(scope="module")
def reports(report_lake):
    settings = report_lake.settings
    started = time.perf_counter()
    latest = write_run_report(settings)
    seconds = time.perf_counter() - started
    first = write_run_report(settings, "run-1")
    return {
        "latest": latest,
        "seconds": seconds,
        "run-1": sections(first.read_text()),
        "run-2": sections(latest.read_text()),
        "html": latest.read_text() + first.read_text(),
    }


def test_the_latest_run_is_the_default_and_goes_under_the_reports_dir(report_lake, reports):
    assert reports["latest"] == report_path(report_lake.settings, "run-2")
    assert reports["latest"].parent == report_lake.settings.lake.root / "reports" / "runs"
    assert reports["seconds"] < 30  # seconds on the sample, even on a busy machine


def test_every_section_is_there_with_its_title_and_renders(reports):
    for run in ("run-1", "run-2"):
        assert list(reports[run]) == list(SECTIONS)
        assert not any("could not render" in body for body in reports[run].values())
    assert "<h2>Validation and drift</h2>" in reports["html"]


def test_stages_show_recorded_results_or_fall_back_on_the_commits(reports):
    first, second = reports["run-1"]["stages"], reports["run-2"]["stages"]
    assert "Stage results" in first and "recs-users" in first and "dedup" in first
    assert "Quarantined by reason" in first and "null_id" in first
    assert "not recorded for this run" in second
    assert "Tables this run committed" in second and "embeddings/catalog" in second
    catalog = re.search(r"Catalog rows.*?</table>", second, re.S).group(0)
    cells = [int(c.replace(",", "")) for c in re.findall(r'class="num">([\d,]+)<', catalog)]
    read, embedded, unchanged, quarantined, tombstoned = cells
    assert read == embedded + unchanged + quarantined
    assert embedded >= 8 and tombstoned == 3  # conftest: CHANGED, REMOVED


def test_validation_lists_versions_and_charts_the_drift(reports):
    body = reports["run-2"]["validation"]
    assert "embeddings/catalog" in body and "embeddings/users" in body
    assert body.count('class="pass">passed') >= 3
    assert body.count('<svg class="chart"') == 2  # centroid shift and stability
    assert "warn 0.02" in body and "fail 0.7" in body


def test_map_colours_by_category_and_rings_cluster_members(reports):
    body = reports["run-1"]["map"]
    assert "coloured by category" in body and "<svg" in body
    assert body.count("<circle") > 60
    assert 'stroke="#111" stroke-width="1.6" r="5"' in body  # a dedup cluster member


def test_histograms_mark_the_thresholds(reports):
    body = reports["run-1"]["scores"]
    assert body.count('<svg class="chart"') == 3
    assert "dedup cosine_threshold 0.6" in body
    assert "match 0.9" in body and "strong 0.999" in body
    assert body.count('class="bar"') > 10


def test_clusters_put_records_side_by_side_with_their_pair_scores(reports):
    body = reports["run-1"]["clusters"]
    assert "(canonical)" in body and "records</h3>" in body
    assert "field scores" in body and "(level " in body and ">match<" in body


def test_similar_items_and_user_recs_show_titles(report_lake, reports):
    similar, users = reports["run-1"]["similar"], reports["run-1"]["users"]
    assert "recs/item_to_item" in similar and "neighbors/catalog" in similar
    assert re.search(r"<td>[A-Z][^<]+ \[P\d{5}\]</td>", similar)
    assert "recent history" in users and "recommendations" in users
    assert re.search(r"<td>[A-Z][^<]+ \[P\d{5}\]</td>", users)


def test_evaluation_and_qdrant(report_lake, reports):
    evaluation, qdrant = reports["run-1"]["evaluation"], reports["run-2"]["qdrant"]
    assert "pairwise_recall" in evaluation
    assert "catalog__" in qdrant and "users__" in qdrant
    assert "run-2" in qdrant and "not published yet" not in qdrant


def test_the_page_is_one_self_contained_file(reports):
    html = reports["html"]
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', html))
    assert re.findall(r'src="([^"]*)"', html) == []  # every chart is inline <svg>
    assert "url(" not in html and "@import" not in html


def test_a_missing_table_says_not_run_yet(report_lake, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(report_lake.settings.lake.root, lake, ignore=shutil.ignore_patterns("qdrant"))
    for gone in ("dedup", "recs", "publish", "events", "reports"):
        shutil.rmtree(lake / gone)
    settings = _with_root(report_lake.settings, lake)
    found = sections(write_run_report(settings).read_text())
    for section in ("clusters", "users", "evaluation", "qdrant", "validation"):
        assert "not run yet" in found[section], section
    assert "dedup/pairs does not exist" in found["scores"]
    assert "<svg" in found["map"] and "<svg" in found["scores"]  # neighbours are still there
    assert not any("could not render" in body for body in found.values())


def test_an_empty_lake_or_an_unknown_run_is_an_error(report_lake, tmp_path):
    with pytest.raises(InputError, match="no run has committed"):
        write_run_report(_with_root(report_lake.settings, tmp_path))
    with pytest.raises(InputError, match=r"run 'nope'.*recent runs: run-2, run-1"):
        write_run_report(report_lake.settings, "nope")


def test_main_prints_the_path(report_lake, tmp_path, capsys):
    out = tmp_path / "report.html"
    args = argparse.Namespace(run="run-1", out=out)
    assert main(report_lake.settings, args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text().startswith("<!doctype html>")


def _with_root(settings, root):
    lake = settings.lake.model_copy(update={"root": root})
    return settings.model_copy(update={"lake": lake})
