"""One run's report: a single HTML file under ``<lake>/reports/runs/``, read from the lake
without Spark, each section saying plainly what has not run yet."""

from __future__ import annotations

import argparse
import logging
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import InputError
from pipelines.report import sections_items as items
from pipelines.report import sections_run as run
from pipelines.report.html import Section, page
from pipelines.report.lake import LakeView
from pipelines.report.stage_results import run_folder
from pipelines.runtime.context import safe_run_id

if TYPE_CHECKING:
    from pipelines.config import Settings

log = logging.getLogger(__name__)
SECTIONS = {  # id -> title, in page order
    "stages": "Stages",
    "validation": "Validation and drift",
    "map": "Map of the catalog embeddings",
    "scores": "Score histograms",
    "clusters": "Largest dedup clusters",
    "similar": "Similar items",
    "users": "User recommendations and recent history",
    "evaluation": "Evaluation",
    "qdrant": "Qdrant",
}


def reports_dir(settings: Settings) -> Path:
    """Where every report of the lake goes (as ``RunContext.reports_dir``)."""
    return settings.lake.reports_dir


def report_path(settings: Settings, run_id: str) -> Path:
    return reports_dir(settings) / "runs" / f"{safe_run_id(run_id)}.html"


def write_run_report(
    settings: Settings,
    run_id: str | None = None,
    out: Path | None = None,
    colour_by: str | None = None,
) -> Path:
    """Write the report of ``run_id`` (None: the run of the lake's newest commit) to ``out``
    (default ``<lake>/reports/runs/<run id>.html``); the file's path. ``colour_by``: the
    payload column that colours the map (default: category, brand or genres if present)."""
    started = time.perf_counter()
    view = LakeView(settings.lake.root, run_id)
    if run_id is not None and not view.commits:
        _require_traces(settings, view, run_id)
    sections = _sections(view, settings, colour_by)
    target = Path(out) if out is not None else report_path(settings, view.run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(page(f"Run {view.run_id}", _facts(view, settings), sections))
    partial.replace(target)
    log.info("report of run %s in %s (%.1fs)", view.run_id, target, time.perf_counter() - started)
    return target


def _require_traces(settings: Settings, view: LakeView, run_id: str) -> None:
    """A run id that committed nothing and recorded no stage result is most likely a typo."""
    if run_folder(reports_dir(settings), run_id).is_dir():
        return
    known = ", ".join(view.known_runs()) or "none"
    raise InputError(
        f"run {run_id!r} committed nothing under {settings.lake.root} and recorded no stage"
        f" results; recent runs: {known}"
    )


def _facts(view: LakeView, settings: Settings) -> list[str]:
    facts = [f"lake: {settings.lake.root}"]
    if view.commits:
        first, last = view.commits[0].timestamp, view.commits[-1].timestamp
        facts.append(f"commits: {first:%Y-%m-%d %H:%M:%S} to {last:%H:%M:%S} UTC")
    facts.append(f"report written {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    return facts


def _sections(view: LakeView, settings: Settings, colour_by: str | None) -> list[Section]:
    reports = reports_dir(settings)
    catalog = items.load_catalog(view)
    bodies: dict[str, Callable[[], str]] = {
        "stages": lambda: run.stages_section(view, reports),
        "validation": lambda: run.validation_section(view, reports, settings),
        "map": lambda: items.map_section(view, catalog, colour_by),
        "scores": lambda: items.scores_section(view, reports, settings),
        "clusters": lambda: items.clusters_section(view, catalog),
        "similar": lambda: items.similar_section(view, catalog),
        "users": lambda: items.users_section(view, catalog),
        "evaluation": lambda: run.evaluation_section(view, reports),
        "qdrant": lambda: run.qdrant_section(view, settings),
    }
    return [Section(key, title, _guarded(key, bodies[key])) for key, title in SECTIONS.items()]


def _guarded(key: str, build: Callable[[], str]) -> str:
    """A section that fails to render says so in the page rather than losing the report."""
    try:
        return build()
    except Exception as exc:
        log.warning("report section %s failed", key, exc_info=True)
        detail = escape("".join(traceback.format_exception_only(exc)).strip())
        return f'<p class="missing">could not render: {detail}</p>'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``pipelines report``."""
    parser.add_argument("--run", help="the run id (default: the run of the newest commit)")
    parser.add_argument(
        "--out", type=Path, help="the HTML file (default: under <lake>/reports/runs/)"
    )
    parser.add_argument("--colour-by", help="payload column colouring the map (default: category)")


def main(settings: Settings, args: argparse.Namespace) -> int:
    """``pipelines report [--run RUN_ID] [--out PATH]``: write the report, print its path."""
    path = write_run_report(
        settings,
        getattr(args, "run", None),
        getattr(args, "out", None),
        getattr(args, "colour_by", None),
    )
    print(path)
    return 0
