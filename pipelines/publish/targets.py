"""The embeddings tables served behind a Qdrant alias: the catalog's items and the users.

Validation, publishing, drift, reconciliation and rollback are written once against a
``VectorTable``; each table says where it lives, which column is its key, which rows are
live, and how a row becomes a point (key, vector, content_hash, payload, model_id, run_id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

if TYPE_CHECKING:
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

    def live(self, lake: TableEngine, version: int | None = None) -> DataFrame:
        """The rows that should be served, from the current or a given table version."""
        return self._live(lake.read(self.table, version))

    def points(self, live: DataFrame) -> DataFrame:
        """Live rows as POINT_COLUMNS, what the publisher and reconciliation read."""
        return self._points(live).select(*POINT_COLUMNS)


def _catalog_points(live: DataFrame) -> DataFrame:
    return live.withColumnRenamed("item_id", "key")


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
    from pipelines.embed.stage import EMBEDDINGS_TABLE

    cfg = settings.publish
    return VectorTable(
        name="catalog",
        table=EMBEDDINGS_TABLE,
        key="item_id",
        alias=cfg.alias,
        collection_prefix=cfg.collection_prefix,
        distinct_vectors=True,
        _live=lambda rows: rows.filter(~F.col("is_deleted")),
        _points=_catalog_points,
    )


def users_table(settings: Settings) -> VectorTable:
    from pipelines.users.vectors import USERS_TABLE

    cfg = settings.publish
    return VectorTable(
        name="users",
        table=USERS_TABLE,
        key="user_id",
        alias=cfg.users_alias,
        collection_prefix=cfg.users_collection_prefix,
        distinct_vectors=False,
        _live=lambda rows: rows,
        _points=_user_points,
    )
