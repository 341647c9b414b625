"""Delta rows to vector-store points, streamed to the driver partition by partition."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from pipelines.publish.store import Point, VectorStore, point_id

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row

POINT_COLUMNS = ["item_id", "vector", "content_hash", "payload", "model_id", "run_id"]


def payload_hash(payload: str | None) -> str:
    return hashlib.sha256((payload or "").encode()).hexdigest()


def to_point(row: Row) -> Point:
    payload = json.loads(row.payload) if row.payload else {}
    payload.update(
        item_id=row.item_id,
        content_hash=row.content_hash,
        payload_hash=payload_hash(row.payload),
        model_id=row.model_id,
        run_id=row.run_id,
    )
    return Point(point_id(row.item_id), row.vector, payload)


def batches(rows: DataFrame, size: int) -> Iterator[list[Point]]:
    """Points in batches; ``toLocalIterator`` holds one partition at a time on the driver."""
    batch: list[Point] = []
    for row in rows.select(*POINT_COLUMNS).toLocalIterator(prefetchPartitions=True):
        batch.append(to_point(row))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def upsert_rows(store: VectorStore, collection: str, rows: DataFrame, size: int, total: int) -> int:
    from tqdm import tqdm

    done = 0
    with tqdm(total=total, desc=f"upsert {collection}", unit="pt", disable=total < 5000) as bar:
        for batch in batches(rows, size):
            store.upsert(collection, batch)
            done += len(batch)
            bar.update(len(batch))
    return done


def delta_state(live: DataFrame) -> DataFrame:
    """What the store should hold, per item: the hashes publishing writes into payloads."""
    return live.select(
        "item_id",
        "content_hash",
        F.sha2(F.coalesce("payload", F.lit("")), 256).alias("payload_hash"),
    )
