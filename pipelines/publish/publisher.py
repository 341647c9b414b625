"""The publish-catalog and publish-users stages: blue-green full publishes and incremental
upserts of a ``VectorTable`` behind its alias.

Full (no alias yet, a new model, or a full refresh): a new collection named from prefix, model
and run id is filled, checked (point count == live rows), and only then the alias moves to it
in one operation. On any failure the new collection is dropped and the alias stays. Older
collections beyond ``keep_collections`` are removed; the previous one stays for rollback.

Incremental (the same model, some rows changed): readers must never see a half-applied
version, and a killed upsert would leave one, so by default the changed version is staged
like a full publish ("staged": a new collection, then the alias move). Only a change of at
most ``inplace_max_points`` points is applied to the served collection in place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from pipelines.io.reports import read_report
from pipelines.publish.errors import NotValidatedError, PublishError
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.tables import require
from pipelines.vectorstore.history import Publication, publications, record
from pipelines.vectorstore.points import CHUNK_ROWS, spark_tables, upsert_rows
from pipelines.vectorstore.sync import compare, repair
from pipelines.vectorstore.targets import VectorTable, catalog_table, users_table

if TYPE_CHECKING:
    import pyarrow as pa

    from pipelines.lake import TableEngine

log = logging.getLogger(__name__)


def collection_name(prefix: str, model_id: str, run_id: str) -> str:
    model = re.sub(r"[^A-Za-z0-9]+", "_", model_id).strip("_")
    return f"{prefix}__{model}__{safe_run_id(run_id)}"


def require_validated(ctx: RunContext, target: VectorTable, version: int) -> dict:
    """The passed validation report of ``version``."""
    report = read_report(ctx.reports_dir, target.table, version)
    if report is None or not report["success"]:
        state = "failed" if report else "has not run"
        raise NotValidatedError(
            f"validation of {target.table} version {version} {state}; nothing is published"
            f" (run validate-{target.name} and fix what it reports)"
        )
    return report


def _drift_acceptance(report: dict) -> dict:
    """Who let this version's failed drift check pass, and when, for the history."""
    drift = report.get("drift", {})
    if drift.get("status") != "accepted":
        return {}
    at = datetime.fromisoformat(drift["accepted_at"])
    return {"drift_accepted_by": drift["accepted_by"], "drift_accepted_at": at}


def _model_id(target: VectorTable, points: DataFrame) -> str:
    models = [r.model_id for r in points.select("model_id").distinct().collect()]
    if len(models) != 1:
        raise PublishError(f"{target.table} holds {len(models)} model ids {models}; expected one")
    return models[0]


def point_tables(
    lake: TableEngine, target: VectorTable, version: int, points: DataFrame, rows: int
) -> Iterator[pa.Table]:
    """What a full publish upserts: the driver reads the table version itself where it can
    (cheaper than a Spark fetch of the same points), else ``points`` (``rows`` of them) come
    from Spark."""
    tables = target.arrow_points(lake, version, CHUNK_ROWS)
    return spark_tables(points, rows) if tables is None else tables


@dataclass(frozen=True)
class Snapshot:
    """The table version being published: its live points, their model and count."""

    target: VectorTable
    version: int
    points: DataFrame
    model_id: str
    rows: int


def full_publish(ctx: RunContext, snap: Snapshot) -> str:
    target, points, rows = snap.target, snap.points, snap.rows
    store = ctx.store
    name = collection_name(target.collection_prefix, snap.model_id, ctx.run_id)
    if name in store.collections():  # a re-run of a run that failed half-way
        store.drop_collection(name)
    dimension = len(points.select("vector").first().vector) if rows else 1
    store.create_collection(name, dimension)
    try:
        tables = point_tables(ctx.lake, target, snap.version, points, rows)
        upsert_rows(store, name, tables, target.key, ctx.settings.publish.batch_size, rows)
        count = store.count(name)
        if count != rows:
            raise PublishError(f"{name} holds {count} points after publishing {rows} live rows")
        store.point_alias(target.alias, name)
    except BaseException:
        log.warning("publish into %s failed; dropping it, alias %s unchanged", name, target.alias)
        _drop_quietly(ctx, name)
        raise
    return name


def _drop_quietly(ctx: RunContext, name: str) -> None:
    try:
        ctx.store.drop_collection(name)
    except Exception as exc:  # the store may be the thing that failed
        log.warning("could not drop %s: %s", name, exc)


def prune(ctx: RunContext, target: VectorTable, current: str) -> list[str]:
    """Drop this prefix's collections beyond the newest ``keep_collections``."""
    newest_first = [p.collection for p in reversed(publications(ctx.lake, target.alias))]
    keep = list(dict.fromkeys([current, *newest_first]))[: ctx.settings.publish.keep_collections]
    ours = [c for c in ctx.store.collections() if c.startswith(f"{target.collection_prefix}__")]
    dropped = [c for c in ours if c not in keep]
    for name in dropped:
        ctx.store.drop_collection(name)
    return dropped


def publish(ctx: RunContext, target: VectorTable) -> StageResult:
    require(ctx.lake, target.table, f"publish-{target.name}")
    version = ctx.lake.version(target.table)
    report = require_validated(ctx, target, version)
    points = target.points(target.live(ctx.lake, version)).persist()
    try:
        rows = points.count()
        model_id = _model_id(target, points)
        snap = Snapshot(target, version, points, model_id, rows)
        with ctx.store.deadline(ctx.settings.publish.deadline_s):
            published = _publish_points(ctx, snap)
        mode, collection, details = published
    finally:
        points.unpersist()
    now = datetime.now(UTC)
    acceptance = _drift_acceptance(report)
    record(
        ctx.lake,
        Publication(
            target.alias, collection, target.table, version, model_id, ctx.run_id, mode, rows,
            now, **acceptance,
        ),
    )  # fmt: skip
    if acceptance:
        details["drift_accepted_by"] = acceptance["drift_accepted_by"]
    log.info(
        "publish-%s: %s publish of %d points to %s (alias %s)",
        target.name,
        mode,
        rows,
        collection,
        target.alias,
    )
    return StageResult(
        stage=f"publish-{target.name}",
        rows_read=rows,
        table_version=version,
        details={"mode": mode, "collection": collection, "alias": target.alias, **details},
    )


def _publish_points(ctx: RunContext, snap: Snapshot) -> tuple[str, str, dict]:
    target = snap.target
    served = ctx.store.alias_target(target.alias)
    history = publications(ctx.lake, target.alias)
    same_model = bool(history) and history[-1].model_id == snap.model_id
    if served is None or not same_model or ctx.full_refresh:
        collection = full_publish(ctx, snap)
        return "full", collection, {"dropped": prune(ctx, target, collection)}
    return _incremental(ctx, snap, served)


def _incremental(ctx: RunContext, snap: Snapshot, served: str) -> tuple[str, str, dict]:
    """Apply the table's changes since the served collection: in place when there are at
    most ``inplace_max_points`` of them, else staged in a new collection."""
    target, points = snap.target, snap.points
    diff = compare(points, ctx.store, served)
    changes = diff.summary()
    if diff.clean:
        return "unchanged", served, {"changes": changes}
    cfg = ctx.settings.publish
    if sum(changes.values()) <= cfg.inplace_max_points:
        repair(points, ctx.store, served, diff, target.key, cfg.batch_size)
        return "incremental", served, {"changes": changes}
    collection = full_publish(ctx, snap)
    return "staged", collection, {"changes": changes, "dropped": prune(ctx, target, collection)}


def publish_catalog(ctx: RunContext) -> StageResult:
    return publish(ctx, catalog_table(ctx.settings))


def publish_users(ctx: RunContext) -> StageResult:
    return publish(ctx, users_table(ctx.settings))


def rollback(ctx: RunContext, alias: str) -> Publication:
    """Point ``alias`` back to the collection published before the current one."""
    store = ctx.store
    current = store.alias_target(alias)
    existing = set(store.collections())
    earlier = [
        p
        for p in reversed(publications(ctx.lake, alias))
        if p.collection != current and p.collection in existing
    ]
    if not earlier:
        raise PublishError(f"no earlier collection of alias {alias!r} is left to roll back to")
    target = earlier[0]
    store.point_alias(alias, target.collection)
    back = Publication(
        alias, target.collection, target.table, target.table_version, target.model_id,
        ctx.run_id, "rollback", store.count(target.collection), datetime.now(UTC),
    )  # fmt: skip
    record(ctx.lake, back)
    return back
