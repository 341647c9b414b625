"""Delta's live rows against the points of a collection: what differs, and the repair that
makes the collection match. Publishing and reconciliation both use it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd

from pipelines.vectorstore.base import VectorStore, point_id
from pipelines.vectorstore.points import delta_state, spark_tables, upsert_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

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
    """Delete ``diff``'s extra points and upsert its missing and stale rows from ``points``."""
    if diff.extra:
        store.delete(collection, diff.extra)
    keys = diff.missing + diff.stale
    if keys:
        wanted = points.sparkSession.createDataFrame([(k,) for k in keys], ["key"])
        tables = spark_tables(points.join(wanted, "key"), len(keys))
        upsert_rows(store, collection, tables, key_field, size, len(keys))
