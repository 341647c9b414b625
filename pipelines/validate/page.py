"""The validation report people open: one self-contained HTML page per table version (styles
inline, nothing fetched), with the drift check as a result of its own beside the suite's."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.4em; } .verdict { font-size: 1.2em; font-weight: 600; padding: .4em .8em; }
.passed { background: #e3f4e3; color: #1d5e20; } .failed { background: #fbe3e3; color: #8a1c1c; }
.neutral { background: #eee; color: #444; }
table { border-collapse: collapse; width: 100%; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.result { font-weight: 600; white-space: nowrap; }
"""
# what each drift status means for the version, and how it is shown
DRIFT_RESULTS = {
    "ok": ("passed", "passed"),
    "warn": ("passed (warning)", "passed"),
    "expected": ("passed (expected drift)", "passed"),
    "accepted": ("passed (accepted on purpose)", "passed"),
    "none": ("not measured", "neutral"),
    "skipped": ("not measured", "neutral"),
    "fail": ("FAILED", "failed"),
}


def _row(cells: list[Any], result: str, css: str) -> str:
    tds = "".join(f"<td>{escape(str(c))}</td>" for c in cells)
    return f'<tr class="{css}">{tds}<td class="result {css}">{escape(result)}</td></tr>'


def _expectation_rows(results: list[dict[str, Any]]) -> list[str]:
    return [
        _row(
            [r["expectation"], r["column"] or "(table)", r["expected"], r["observed"]],
            "passed" if r["success"] else "FAILED",
            "passed" if r["success"] else "failed",
        )
        for r in results
    ]


def _drift_row(drift: dict[str, Any]) -> str:
    result, css = DRIFT_RESULTS.get(drift["status"], (drift["status"], "neutral"))
    against = drift.get("previous_version")
    what = f"drift against published version {against}" if against is not None else "drift"
    return _row([what, "vector", "within [validate] thresholds", drift["message"]], result, css)


def _verdict(report: dict[str, Any]) -> str:
    if report["success"]:
        return '<p class="verdict passed">Passed: this version may be published</p>'
    drift_only = all(f.startswith("drift:") for f in report["failures"])
    why = "refused by the drift check" if drift_only else "failed"
    return f'<p class="verdict failed">Failed ({why}): nothing is published</p>'


def render(report: dict[str, Any]) -> str:
    """The page of one validation report (the dict the stage writes as JSON)."""
    title = f"Validation of {report['table']} version {report['version']}"
    rows = [*_expectation_rows(report["expectations"]), _drift_row(report["drift"])]
    failures = "".join(f"<li>{escape(f)}</li>" for f in report["failures"])
    head = "<tr><th>check</th><th>column</th><th>expected</th><th>observed</th><th>result</th>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{STYLE}</style></head>
<body><h1>{escape(title)}</h1>
{_verdict(report)}
<p>run {escape(str(report["run_id"]))}, validated at {escape(str(report["validated_at"]))},
text template {escape(repr(report.get("text_template")))}</p>
{f"<ul>{failures}</ul>" if failures else ""}
<table>{head}</tr>
{"".join(rows)}
</table></body></html>
"""


def write_page(folder: Path, report: dict[str, Any]) -> Path:
    """The version's page, and ``index.html`` as the latest one; the index's path."""
    folder.mkdir(parents=True, exist_ok=True)
    page = render(report)
    (folder / f"v{report['version']:06d}.html").write_text(page)
    index = folder / "index.html"
    index.write_text(page)
    return index
