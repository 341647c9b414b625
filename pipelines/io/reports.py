"""Validation reports on disk: what the publish gate reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def report_path(reports_dir: Path, table: str, version: int) -> Path:
    return reports_dir / "validation" / table.replace("/", "_") / f"v{version:06d}.json"


def write_report(reports_dir: Path, table: str, version: int, report: dict[str, Any]) -> Path:
    path = report_path(reports_dir, table, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


def read_report(reports_dir: Path, table: str, version: int) -> dict[str, Any] | None:
    path = report_path(reports_dir, table, version)
    return json.loads(path.read_text()) if path.is_file() else None


def last_validated_version(reports_dir: Path, table: str) -> int | None:
    """The newest version of ``table`` whose validation passed; None if none has."""
    folder = report_path(reports_dir, table, 0).parent
    passed = [
        int(path.stem.removeprefix("v"))
        for path in folder.glob("v*.json")
        if json.loads(path.read_text()).get("success")
    ]
    return max(passed, default=None)
