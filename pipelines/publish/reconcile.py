"""Reconciliation: Delta's live rows against the points of a collection, and repair."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.context import RunContext, StageResult
from pipelines.publish.errors import ReconcileMismatch
from pipelines.publish.points import delta_state, upsert_rows
from pipelines.publish.store import VectorStore, point_id

HASH_FIELDS = ["item_id", "content_hash", "payload_hash"]


@dataclass
class Diff:
    missing: list[str]  # item ids live in Delta, absent from the store
    stale: list[str]  # item ids whose content or payload hash differs
    extra: list[str]  # point ids in the store with no live row

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)

    def summary(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in asdict(self).items()}


def store_state(store: VectorStore, collection: str) -> pd.DataFrame:
    records = [
        {"point_id": pid, **{f: p.get(f) for f in HASH_FIELDS}}
        for pid, p in store.scroll(collection, HASH_FIELDS)
    ]
    return pd.DataFrame(records, columns=["point_id", *HASH_FIELDS])


def compare(live: DataFrame, store: VectorStore, collection: str) -> Diff:
    """Only ids and hashes travel to the driver, never vectors."""
    expected = delta_state(live).toPandas()
    expected["point_id"] = expected["item_id"].map(point_id)
    actual = store_state(store, collection).drop(columns="item_id")
    merged = expected.merge(
        actual, on="point_id", how="outer", suffixes=("", "_store"), indicator=True
    )
    both = merged[merged["_merge"] == "both"]
    differs = (both["content_hash"] != both["content_hash_store"]) | (
        both["payload_hash"] != both["payload_hash_store"]
    )
    return Diff(
        missing=sorted(merged.loc[merged["_merge"] == "left_only", "item_id"]),
        stale=sorted(both.loc[differs, "item_id"]),
        extra=sorted(merged.loc[merged["_merge"] == "right_only", "point_id"]),
    )


def repair(
    live: DataFrame, store: VectorStore, collection: str, diff: Diff, batch_size: int
) -> None:
    if diff.extra:
        store.delete(collection, diff.extra)
    ids = diff.missing + diff.stale
    if ids:
        rows = live.join(
            live.sparkSession.createDataFrame([(i,) for i in ids], ["item_id"]), "item_id"
        )
        upsert_rows(store, collection, rows, batch_size, len(ids))


def reconcile_catalog(ctx: RunContext, fix: bool = False) -> StageResult:
    """The reconcile-catalog stage: any mismatch (left after ``fix``) fails it."""
    from pipelines.embed.stage import EMBEDDINGS_TABLE

    started = time.perf_counter()
    alias = ctx.settings.publish.alias
    collection = ctx.store.alias_target(alias)
    if collection is None:
        raise ReconcileMismatch(
            f"alias {alias!r} does not exist in {ctx.store.description}; publish first"
        )
    live = ctx.lake.read(EMBEDDINGS_TABLE).filter(~F.col("is_deleted"))
    diff = compare(live, ctx.store, collection)
    found = diff.summary()
    if fix and not diff.clean:
        repair(live, ctx.store, collection, diff, ctx.settings.publish.batch_size)
        diff = compare(live, ctx.store, collection)
    result = StageResult(
        stage="reconcile-catalog",
        rows_read=live.count(),
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
            f"{collection} disagrees with {EMBEDDINGS_TABLE}: {diff.summary()}"
            f" (e.g. missing {diff.missing[:3]}, stale {diff.stale[:3]}, extra {diff.extra[:3]});"
            " run `pipelines reconcile --repair` to fix it"
        )
    return result
