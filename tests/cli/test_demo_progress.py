"""`make demo`'s progress lines, from `airflow dags test` output captured in this project
(trimmed to the lines around each task): one line per task start and end with its state and
seconds, the run's state, and on failure the error lines and the log's path."""

from __future__ import annotations

import io
from pathlib import Path

from pipelines.cli.demo_progress import follow

DATA = Path(__file__).parent / "data"


def _follow(name: str, tmp_path: Path, lines: list[str] | None = None) -> tuple[bool, list[str]]:
    text = lines if lines is not None else (DATA / name).read_text().splitlines(True)
    out = io.StringIO()
    ok = follow(text, "dag", tmp_path / "dag.log", out)
    assert (tmp_path / "dag.log").read_text() == "".join(text)  # the whole output is kept
    return ok, out.getvalue().splitlines()


def test_a_successful_run_gives_one_line_per_task_start_and_end(tmp_path):
    ok, lines = _follow("dag_test_recs_and_dedup.log", tmp_path)
    assert ok
    assert lines == [
        "[dag] neighbors started",
        "[dag] neighbors success in 27 s",
        "[dag] dedup started",
        "[dag] dedup success in 41 s",
        "[dag] recs_items started",
        "[dag] recs_items success in 17 s",
        "[dag] evaluation_configured started",
        "[dag] evaluation_configured success in 0 s",
        "[dag] evaluate started",
        "[dag] evaluate success in 14 s",
        "[dag] run_report started",
        "[dag] run_report success in 3 s",
        "[dag] run manual__2026-12-01T06:35:35.195103+00:00 success in 103 s",
    ]


def test_a_failed_run_names_the_task_its_error_and_the_log(tmp_path):
    ok, lines = _follow("dag_test_failed.log", tmp_path)
    assert not ok
    assert "[dag] embed_catalog failed in 6 s" in lines
    assert "[dag] maintain success in 16 s" in lines
    assert any(line.startswith("[dag] run manual__") and " failed in " in line for line in lines)
    assert "[dag] tasks not successful: embed_catalog" in lines
    assert (
        "  error: [catalog] source /nonexistent/catalog.csv does not exist;"
        " fix the path or create the file"
    ) in lines
    assert lines[-1] == f"[dag] the whole log: {tmp_path / 'dag.log'}"


def test_output_that_stops_before_the_run_ends_is_a_failure(tmp_path):
    text = (DATA / "dag_test_recs_and_dedup.log").read_text().splitlines(True)[:12]
    ok, lines = _follow("", tmp_path, text)
    assert not ok
    assert "[dag] the run did not finish; the log ends with:" in lines
    assert lines[-1] == f"[dag] the whole log: {tmp_path / 'dag.log'}"
