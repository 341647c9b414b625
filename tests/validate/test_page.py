"""The validation page people open tells the truth about the version, drift included, and
loads nothing from elsewhere."""

from __future__ import annotations

import re

from pipelines.validate.page import render, write_page

PASSED = {"expectation": "expect_column_values_to_be_unique", "column": "item_id",
          "success": True, "expected": "", "observed": "none"}  # fmt: skip


def _report(drift: dict, failures: list[str]) -> dict:
    return {
        "table": "embeddings/catalog", "version": 7, "run_id": "r7",
        "validated_at": "2026-03-01T00:00:00+00:00", "success": not failures,
        "failures": failures, "expectations": [PASSED], "drift": drift,
        "text_template": "{title} <b>",
    }  # fmt: skip


DRIFT_FAIL = {"status": "fail", "message": "centroid shift 0.2 (fail > 0.1)",
              "previous_version": 5}  # fmt: skip


def test_a_version_refused_by_the_drift_check_is_shown_as_failed(tmp_path):
    page = render(_report(DRIFT_FAIL, ["drift: centroid shift 0.2 (fail > 0.1)"]))
    assert "Succeeded" not in page
    assert "Failed (refused by the drift check): nothing is published" in page
    drift_row = next(row for row in page.split("<tr") if "drift against published" in row)
    assert "version 5" in drift_row and "FAILED" in drift_row and "centroid shift 0.2" in drift_row


def test_the_page_is_self_contained_and_escapes_values(tmp_path):
    index = write_page(tmp_path, _report(DRIFT_FAIL, ["drift: x"]))
    page = index.read_text()
    assert (tmp_path / "v000007.html").read_text() == page
    assert not re.search(r"<(link|script|img)\b", page) and "http" not in page
    assert "<style>" in page and "{title} &lt;b&gt;" in page


def test_a_passed_version_shows_each_result_and_why_drift_passed():
    accepted = {"status": "accepted", "message": "shift 0.2; accepted by alice",
                "previous_version": 5}  # fmt: skip
    page = render(_report(accepted, []))
    assert "Passed: this version may be published" in page
    assert "passed (accepted on purpose)" in page and "accepted by alice" in page
    assert "expect_column_values_to_be_unique" in page
