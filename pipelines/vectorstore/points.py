"""Delta rows to vector-store points, streamed to the driver a bounded chunk at a time:
read by the driver itself where the table engine can (``VectorTable.arrow_points``), else
fetched from Spark (``spark_tables``)."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from queue import Queue
from threading import Thread
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pyarrow as pa  # noqa: TC002 (used at run time by callers)
import pyarrow.compute as pc
from pyspark.sql import functions as F

from pipelines.runtime.faults import crash_point
from pipelines.vectorstore.base import Point, VectorStore, point_id
from pipelines.vectorstore.targets import POINT_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

T = TypeVar("T")
CHUNK_ROWS = 20_000  # rows per fetch: about 30 MB of 384-d float32 vectors in Arrow


def payload_hash(payload: str | None) -> str:
    return hashlib.sha256((payload or "").encode()).hexdigest()


def to_point(row: dict, key_field: str) -> Point:
    """A POINT_COLUMNS row as a point; its key goes in the payload as ``key_field``."""
    payload = json.loads(row["payload"]) if row["payload"] else {}
    payload.update(
        {
            key_field: row["key"],
            "content_hash": row["content_hash"],
            "payload_hash": payload_hash(row["payload"]),
            "model_id": row["model_id"],
            "run_id": row["run_id"],
        }
    )
    return Point(point_id(row["key"]), row["vector"], payload)


def records(table: pa.Table) -> list[dict]:
    """Arrow rows as dicts; vectors of one length go through numpy, which builds their
    Python floats several times faster than Arrow's ``to_pylist``."""
    vectors = table.column("vector").combine_chunks()
    one_length = pc.count_distinct(vectors.value_lengths()).as_py() == 1
    if not one_length or vectors.null_count:
        return table.to_pylist()
    as_lists = np.asarray(vectors.flatten()).reshape(len(table), -1).tolist()
    rows = table.drop_columns(["vector"]).to_pylist()
    for row, vector in zip(rows, as_lists, strict=True):
        row["vector"] = vector
    return rows


def chunks(rows: DataFrame, total: int) -> Iterator[pa.Table]:
    """POINT_COLUMNS rows as Arrow tables of at most about CHUNK_ROWS rows, so the driver
    never holds the whole table. One fetch when that fits: each hash-filtered fetch scans the
    whole table again."""
    selected = rows.select(*POINT_COLUMNS)
    parts = -(-total // CHUNK_ROWS)
    if parts <= 1:
        yield selected.toArrow()
        return
    keyed = selected.withColumn("_part", F.pmod(F.xxhash64("key"), F.lit(parts)))
    for part in range(parts):
        yield keyed.filter(F.col("_part") == part).drop("_part").toArrow()


def prefetched(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """``items`` run ahead in a thread, up to ``depth`` of them: the next Spark fetch
    (another process) is under way while the store writes. One ahead is enough, and bounds
    the driver to about three chunks of CHUNK_ROWS."""
    queue: Queue = Queue(maxsize=depth)
    end = object()

    def produce() -> None:
        try:
            for item in items:
                queue.put(item)
            queue.put(end)
        except BaseException as exc:  # re-raised in the consumer
            queue.put(exc)

    Thread(target=produce, daemon=True, name="prefetch").start()
    while (item := queue.get()) is not end:
        if isinstance(item, BaseException):
            raise item
        yield item


def batches(tables: Iterable[pa.Table], key_field: str, size: int) -> Iterator[list[Point]]:
    """Points in batches of ``size``; Python objects are built one batch at a time, so the
    first upsert starts right after the first fetch."""
    for table in tables:
        for start in range(0, table.num_rows, size):
            yield [to_point(row, key_field) for row in records(table.slice(start, size))]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector: publishing allocates many containers per
    point, none in a cycle, and each burst would set off full passes over the heap."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def spark_tables(rows: DataFrame, total: int) -> Iterator[pa.Table]:
    """``rows`` (``total`` of them) fetched from Spark as Arrow tables; the next fetch runs
    ahead in a thread when there is more than one."""
    tables = chunks(rows, total)
    # one fetch has nothing to overlap: a thread would only add hand-offs
    return prefetched(tables) if total > CHUNK_ROWS else tables


def upsert_rows(
    store: VectorStore,
    collection: str,
    tables: Iterable[pa.Table],
    key_field: str,
    size: int,
    total: int,
) -> int:
    """Upsert every POINT_COLUMNS row of ``tables`` (``total`` of them, for progress) in
    batches; returns the count sent."""
    from tqdm import tqdm

    done = 0
    bar = tqdm(total=total, desc=f"upsert {collection}", unit="pt", disable=total < 5000)
    with bar, collector_paused():
        # points are built here, not in the prefetch thread, which held the GIL the store's
        # SQLite commits waited for
        for batch in batches(tables, key_field, size):
            store.upsert(collection, batch)
            done += len(batch)
            bar.update(len(batch))
            crash_point("publish.mid_upsert")
    return done


def delta_state(points: DataFrame) -> DataFrame:
    """What the store should hold, per key: the hashes publishing writes into payloads."""
    return points.select(
        "key",
        "content_hash",
        F.sha2(F.coalesce("payload", F.lit("")), 256).alias("payload_hash"),
    )
