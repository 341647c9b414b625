"""Reconciliation: Delta's live rows against the points of a collection, and repair."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import pandas as pd
from pyspark.sql import DataFrame

from pipelines.publish.errors import ReconcileMismatch
from pipelines.runtime.context import RunContext, StageResult
from pipelines.vectorstore.base import VectorStore, point_id
from pipelines.vectorstore.points import delta_state, spark_tables, upsert_rows
from pipelines.vectorstore.targets import VectorTable, catalog_table, users_table

HASHES = ["content_hash", "payload_hash"]


@dataclass
class Diff:
    missing: list[str]  # keys live in Delta, absent from the store
    stale: list[str]  # keys whose content or payload hash differs
    extra: list[str]  # point ids in the store with no live row

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)

    def summary(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in asdict(self).items()}


def store_state(store: VectorStore, collection: str) -> pd.DataFrame:
    records = [
        {"point_id": pid, **{f: p.get(f) for f in HASHES}}
        for pid, p in store.scroll(collection, HASHES)
    ]
    return pd.DataFrame(records, columns=["point_id", *HASHES])


def compare(points: DataFrame, store: VectorStore, collection: str) -> Diff:
    """``points`` are POINT_COLUMNS rows; only keys and hashes reach the driver, never vectors."""
    expected = delta_state(points).toPandas()
    expected["point_id"] = expected["key"].map(point_id)
    actual = store_state(store, collection)
    merged = expected.merge(
        actual, on="point_id", how="outer", suffixes=("", "_store"), indicator=True
    )
    both = merged[merged["_merge"] == "both"]
    differs = (both["content_hash"] != both["content_hash_store"]) | (
        both["payload_hash"] != both["payload_hash_store"]
    )
    return Diff(
        missing=sorted(merged.loc[merged["_merge"] == "left_only", "key"]),
        stale=sorted(both.loc[differs, "key"]),
        extra=sorted(merged.loc[merged["_merge"] == "right_only", "point_id"]),
    )


def repair(
    points: DataFrame, store: VectorStore, collection: str, diff: Diff, key_field: str, size: int
) -> None:
    if diff.extra:
        store.delete(collection, diff.extra)
    keys = diff.missing + diff.stale
    if keys:
        wanted = points.sparkSession.createDataFrame([(k,) for k in keys], ["key"])
        tables = spark_tables(points.join(wanted, "key"), len(keys))
        upsert_rows(store, collection, tables, key_field, size, len(keys))


def reconcile(ctx: RunContext, target: VectorTable, fix: bool = False) -> StageResult:
    """Compare ``target``'s live rows with the collection behind its alias; any mismatch
    left after ``fix`` fails."""
    started = time.perf_counter()
    collection = ctx.store.alias_target(target.alias)
    if collection is None:
        raise ReconcileMismatch(
            f"alias {target.alias!r} does not exist in {ctx.store.description};"
            f" run publish-{target.name} first"
        )
    points = target.points(target.live(ctx.lake))
    diff = compare(points, ctx.store, collection)
    found = diff.summary()
    if fix and not diff.clean:
        size = ctx.settings.publish.batch_size
        repair(points, ctx.store, collection, diff, target.key, size)
        diff = compare(points, ctx.store, collection)
    result = StageResult(
        stage=f"reconcile-{target.name}",
        rows_read=points.count(),
        seconds=round(time.perf_counter() - started, 3),
        details={
            "collection": collection,
            "found": found,
            "after": diff.summary(),
            "repaired": fix,
        },
    )
    if not diff.clean:
        raise ReconcileMismatch(
            f"{collection} disagrees with {target.table}: {diff.summary()}"
            f" (e.g. missing {diff.missing[:3]}, stale {diff.stale[:3]}, extra {diff.extra[:3]});"
            f" run `pipelines reconcile --table {target.name} --repair` to fix it"
        )
    return result


def reconcile_catalog(ctx: RunContext, fix: bool = False) -> StageResult:
    """The reconcile-catalog stage."""
    return reconcile(ctx, catalog_table(ctx.settings), fix)


def reconcile_users(ctx: RunContext, fix: bool = False) -> StageResult:
    """The reconcile-users stage."""
    return reconcile(ctx, users_table(ctx.settings), fix)
