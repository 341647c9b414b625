"""A stage's result in one line of words (``verdict_line``, the last line of a task's log)
and in numbers (``asset_extra``, the ``extra`` of the asset events a task emits).

Cheap to import: the operator imports it when a DAG is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.runtime.context import StageResult
from pipelines.tables import (
    CATALOG_EMBEDDINGS,
    COOCCURRENCE,
    DEDUP_CLUSTERS,
    ITEM_RECS,
    NEIGHBORS,
    USER_EMBEDDINGS,
    USER_RECS,
)

# the table whose version a stage's result names
STAGE_TABLES = {
    "embed-catalog": CATALOG_EMBEDDINGS,
    "validate-catalog": CATALOG_EMBEDDINGS,
    "publish-catalog": CATALOG_EMBEDDINGS,
    "reconcile-catalog": CATALOG_EMBEDDINGS,
    "neighbors": NEIGHBORS,
    "dedup": DEDUP_CLUSTERS,
    "recs-items": ITEM_RECS,
    "embed-events": USER_EMBEDDINGS,
    "validate-users": USER_EMBEDDINGS,
    "publish-users": USER_EMBEDDINGS,
    "reconcile-users": USER_EMBEDDINGS,
    "cooccurrence": COOCCURRENCE,
    "recs-users": USER_RECS,
}
COUNTS = ("embedded", "skipped", "quarantined", "tombstoned")


def verdict_line(result: StageResult) -> str:
    """``verdict: <stage> ...``: what the stage did, in one line."""
    kind = result.stage.split("-")[0]
    describe = _DESCRIBE.get(result.stage) or _DESCRIBE.get(kind) or _rows
    try:
        text = describe(result)
    # a stage that did its work must not fail on how its details are worded
    except (AttributeError, KeyError, TypeError, ValueError):
        text = _rows(result)
    return " ".join(f"verdict: {text}".split())


def asset_extra(result: StageResult, run_id: str | None) -> dict[str, Any]:
    """The stage, run, rows and the version of the stage's table, for an asset event."""
    extra: dict[str, Any] = {"stage": result.stage, "run_id": run_id, "rows": result.rows_read}
    if result.stage in STAGE_TABLES:
        extra["table"] = str(STAGE_TABLES[result.stage])
    if result.table_version is not None:
        extra["version"] = result.table_version
    if result.stage.startswith("embed-"):
        extra.update({name: getattr(result, name) for name in COUNTS})
    return extra


def result_from_line(line: str, stage: str) -> StageResult | None:
    """The ``StageResult`` a job printed as one JSON line, if ``line`` is ``stage``'s."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        found = json.loads(line)
        return StageResult(**found) if found.get("stage") == stage else None
    except (ValueError, TypeError, AttributeError):
        return None


def _table(result: StageResult) -> str:
    """``; table NAME version N``, or nothing when the stage wrote no table."""
    if result.table_version is None:
        return ""
    table = STAGE_TABLES.get(result.stage)
    return f"; {f'table {table} ' if table else ''}version {result.table_version}"


def _rows(result: StageResult) -> str:
    return f"{result.stage} ok: {result.rows_read} rows{_table(result)}"


def _embed_catalog(result: StageResult) -> str:
    parts = [
        f"{result.rows_read} rows read",
        f"{result.embedded} embedded",
        f"{result.skipped} unchanged",
        f"{result.quarantined} quarantined",
    ]
    if result.tombstoned:
        parts.append(f"{result.tombstoned} tombstoned")
    if result.details.get("held"):
        parts.append(f"{result.details['held']} held")
    return f"{result.stage} ok: {', '.join(parts)}{_table(result)}"


def _embed_events(result: StageResult) -> str:
    clean = result.details.get("events", {}).get("clean", 0)
    users = f"{result.embedded} users" + _table(result).replace(";", " in", 1)
    return (
        f"{result.stage} ok: {result.rows_read} events read, {clean} clean,"
        f" {result.quarantined} quarantined; {users}"
    )


def _validate(result: StageResult) -> str:
    counted = _expectations(result.details.get("report"))
    passed = f"passed {counted} expectations" if counted else "passed"
    drift = result.details.get("drift", "not checked")
    return f"{result.stage} {passed}, drift {drift}; version {result.table_version}"


def _expectations(report: str | None) -> str | None:
    """``passed/total`` from the validation report the stage wrote, if it can be read."""
    try:
        results = json.loads(Path(report).read_text())["expectations"]
    except (TypeError, OSError, ValueError, KeyError):
        return None
    return f"{sum(1 for r in results if r.get('success'))}/{len(results)}"


def _publish(result: StageResult) -> str:
    details = result.details
    table = STAGE_TABLES.get(result.stage, "the table")
    how = f"{details.get('mode')} publish of {table} version {result.table_version}"
    if details.get("changes"):
        how += f": {_diff(details['changes'])}"
    return (
        f"{result.stage}: {result.rows_read} points published to alias {details.get('alias')}"
        f" (collection {details.get('collection')}, {how})"
    )


def _reconcile(result: StageResult) -> str:
    details = result.details
    repaired = f", repaired {_diff(details['found'])}" if details.get("repaired") else ""
    return (
        f"{result.stage} ok: {result.rows_read} live rows match collection"
        f" {details.get('collection')} ({_diff(details.get('after', {}))}){repaired}"
    )


def _diff(summary: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in summary.items())


def _neighbors(result: StageResult) -> str:
    d = result.details
    return (
        f"neighbors ok: graph of {result.rows_read} items (k {d.get('k')}, {d.get('method')}),"
        f" {d.get('outliers', 0)} outliers{_table(result)}"
    )


def _dedup(result: StageResult) -> str:
    d = result.details
    return (
        f"dedup ok: {result.rows_read} candidate pairs, {d.get('matches', 0)} matches,"
        f" {d.get('clusters', 0)} clusters{_table(result)}"
    )


def _maintain(result: StageResult) -> str:
    tables = result.details.get("tables", {})
    deleted = sum(t.get("files_deleted", 0) for t in tables.values())
    swept = len(result.details.get("swept", [])) + len(result.details.get("gx_temp_sites", []))
    return (
        f"maintain ok: {len(tables)} tables vacuumed, {deleted} files deleted,"
        f" {swept} leftover folders removed"
    )


def _evaluate(result: StageResult) -> str:
    d = result.details
    parts = []
    if "dedup" in d:
        parts.append(f"dedup pairwise F1 {d['dedup'].get('pairwise_f1')}")
    for name in ("recs_items", "recs_users"):
        if name in d:
            parts.append(f"{name.replace('_', '-')} scored ({len(d[name])} methods)")
    return f"evaluate ok: {', '.join(parts) or 'nothing configured'}"


_DESCRIBE: dict[str, Callable[[StageResult], str]] = {
    "embed-catalog": _embed_catalog,
    "embed-events": _embed_events,
    "validate": _validate,
    "publish": _publish,
    "reconcile": _reconcile,
    "neighbors": _neighbors,
    "dedup": _dedup,
    "maintain": _maintain,
    "evaluate": _evaluate,
}
