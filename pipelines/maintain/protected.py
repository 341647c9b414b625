"""The table versions maintain must keep readable whatever their age: those behind the Qdrant
aliases (rollback and drift re-read them) and the newest validated version of each table."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.vectorstore.history import Publication, publications

if TYPE_CHECKING:
    from pipelines.runtime.context import RunContext

log = logging.getLogger(__name__)


def protected_versions(ctx: RunContext) -> dict[str, set[int]]:
    """table -> the versions its VACUUM must spare."""
    found: dict[str, set[int]] = defaultdict(set)
    cfg = ctx.settings.publish
    for alias in (cfg.alias, cfg.users_alias):
        for publication in kept_publications(publications(ctx.lake, alias), cfg.keep_collections):
            found[publication.table].add(publication.table_version)
    for table, version in validated_versions(ctx.reports_dir / "validation"):
        found[table].add(version)
    return dict(found)


def kept_publications(history: list[Publication], keep: int) -> list[Publication]:
    """The newest ``keep`` of an alias's publications (oldest first in ``history``), and the
    newest one of each collection that publishing keeps for rollback: incremental publishes
    re-record one collection, so the newest ``keep`` alone can all be the current one."""
    newest_first = list(reversed(history))
    collections = list(dict.fromkeys(p.collection for p in newest_first))[:keep]
    latest = [next(p for p in newest_first if p.collection == c) for c in collections]
    return newest_first[:keep] + latest


def validated_versions(folder: Path) -> Iterator[tuple[str, int]]:
    """(table, version) of the newest passed report in each table's folder of reports."""
    if not folder.is_dir():
        return
    for table_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
        reports = sorted(table_folder.glob("v*.json"), key=_version, reverse=True)
        passed = next(filter(None, map(_passed, reports)), None)
        if passed is not None:
            yield passed


def _version(path: Path) -> int:
    digits = path.stem.removeprefix("v")
    return int(digits) if digits.isdigit() else -1


def _passed(path: Path) -> tuple[str, int] | None:
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # a report cut short by a crash protects nothing
        log.warning("maintain: skipping unreadable validation report %s: %s", path, exc)
        return None
    if report.get("success") is not True:
        return None
    return str(report["table"]), int(report["version"])
