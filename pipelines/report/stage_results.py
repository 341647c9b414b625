"""Stage results kept per run, one JSON file per stage, so the report can show what each
stage read, wrote and took. Each task of an Airflow run is its own process, some run at
once: one file per stage, written whole and renamed, needs no lock."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.runtime.context import safe_run_id

if TYPE_CHECKING:
    from pipelines.runtime.context import StageResult


def run_folder(reports_dir: Path, run_id: str) -> Path:
    return reports_dir / "runs" / safe_run_id(run_id)


def record_stage_results(
    reports_dir: Path, run_id: str, results: Iterable[StageResult | dict[str, Any]]
) -> Path:
    """Write each result under ``<reports>/runs/<run>/stages/<stage>.json``; the folder."""
    folder = run_folder(reports_dir, run_id) / "stages"
    folder.mkdir(parents=True, exist_ok=True)
    for result in results:
        row = result if isinstance(result, dict) else result.as_dict()
        row = {**row, "run_id": run_id, "recorded_at": datetime.now(UTC).isoformat()}
        target = folder / f"{row['stage']}.json"
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(row, indent=2, default=str))
        partial.replace(target)
    return folder


def read_stage_results(reports_dir: Path, run_id: str) -> list[dict[str, Any]]:
    """The recorded results of ``run_id`` in the order they were recorded; [] if none."""
    folder = run_folder(reports_dir, run_id) / "stages"
    rows = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    return sorted(rows, key=lambda row: row.get("recorded_at", ""))
