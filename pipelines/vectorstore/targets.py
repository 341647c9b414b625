"""The embeddings tables served behind a Qdrant alias: the catalog's items and the users.

Validation, publishing, drift, reconciliation and rollback are written once against a
``VectorTable``; each table says where it lives, which column is its key, which rows are
live, and how a row becomes a point (key, vector, content_hash, payload, model_id, run_id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

    from pipelines.config import Settings
    from pipelines.lake import TableEngine

POINT_COLUMNS = ["key", "vector", "content_hash", "payload", "model_id", "run_id"]


@dataclass(frozen=True)
class VectorTable:
    name: str  # "catalog" | "users": the stages are validate-<name>, publish-<name>
    table: str
    key: str  # the id column; points carry it in their payload under this name
    alias: str
    collection_prefix: str
    # the catalog's texts are distinct, so an exact vector shared by two texts is a defect;
    # two users with the same single item legitimately share one
    distinct_vectors: bool
    _live: Callable[[DataFrame], DataFrame]
    _points: Callable[[DataFrame], DataFrame]
    # the same live rows and points as plain column reads on the driver, where they are that
    _arrow_points: Callable[[ds.Dataset, int], Iterator[pa.Table]] | None = None

    def live(self, lake: TableEngine, version: int | None = None) -> DataFrame:
        """The rows that should be served, from the current or a given table version."""
        return self._live(lake.read(self.table, version))

    def points(self, live: DataFrame) -> DataFrame:
        """Live rows as POINT_COLUMNS, what the publisher and reconciliation read."""
        return self._points(live).select(*POINT_COLUMNS)

    def arrow_points(
        self, lake: TableEngine, version: int, batch_rows: int
    ) -> Iterator[pa.Table] | None:
        """``points(live(lake, version))`` as Arrow tables of at most ``batch_rows``, read by
        the driver with no Spark job; None where the engine or this table's points need Spark.
        """
        if self._arrow_points is None:
            return None
        dataset = lake.arrow_dataset(self.table, version)
        return None if dataset is None else self._arrow_points(dataset, batch_rows)


def _catalog_points(live: DataFrame) -> DataFrame:
    return live.withColumnRenamed("item_id", "key")


def _catalog_arrow_points(dataset: ds.Dataset, batch_rows: int) -> Iterator[pa.Table]:
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = {name: pc.field(name) for name in POINT_COLUMNS} | {"key": pc.field("item_id")}
    live = ~pc.field("is_deleted")  # a null flag is not live, as in Spark
    # one batch and one file read ahead (the defaults, 16 and 4, could hold GBs of vectors)
    scan = dataset.to_batches(
        columns=columns,
        filter=live,
        batch_size=batch_rows,
        batch_readahead=1,
        fragment_readahead=1,
    )
    for batch in scan:
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


def _user_points(live: DataFrame) -> DataFrame:
    # a user row has no source text: its content is the vector itself
    return live.select(
        F.col("user_id").alias("key"),
        "vector",
        F.sha2(F.to_json("vector"), 256).alias("content_hash"),
        F.to_json(F.struct("n_events", "last_event_at")).alias("payload"),
        "model_id",
        "run_id",
    )


def catalog_table(settings: Settings) -> VectorTable:
    from pipelines.tables import CATALOG_EMBEDDINGS

    live = lambda rows: rows.filter(~F.col("is_deleted"))  # noqa: E731
    extra = {"_arrow_points": _catalog_arrow_points}
    return _served(settings, CATALOG_EMBEDDINGS, "catalog", "", True, live, _catalog_points, extra)


def users_table(settings: Settings) -> VectorTable:
    from pipelines.tables import USER_EMBEDDINGS

    return _served(settings, USER_EMBEDDINGS, "users", "users_", False, lambda r: r, _user_points)


def _served(settings, table, name, prefix, distinct, live, points, extra=None) -> VectorTable:
    """``table`` behind the alias and collection prefix ``[publish] <prefix>alias`` and
    ``<prefix>collection_prefix`` name."""
    cfg = settings.publish
    return VectorTable(
        name=name,
        table=table,
        key=table.key[0],
        alias=getattr(cfg, f"{prefix}alias"),
        collection_prefix=getattr(cfg, f"{prefix}collection_prefix"),
        distinct_vectors=distinct,
        _live=live,
        _points=points,
        **(extra or {}),
    )
