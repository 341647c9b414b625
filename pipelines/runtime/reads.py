"""Reads of the pipeline's tables that several stages share: the newest validated catalog
version, its live rows and vectors, and dedup's current decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.io.reports import last_validated_version
from pipelines.lake.errors import NoValidatedVersionError
from pipelines.tables import CATALOG_EMBEDDINGS, DEDUP_CLUSTERS, DEDUP_PAIRS

if TYPE_CHECKING:
    from pipelines.lake import TableEngine
    from pipelines.runtime.context import RunContext


def live_rows(lake: TableEngine, version: int | None = None) -> DataFrame:
    """The embeddings table's current (or a given version's) rows that are not tombstones."""
    return lake.read(CATALOG_EMBEDDINGS, version).filter(~F.col("is_deleted"))


def validated_version(ctx: RunContext) -> int:
    """The newest version of the catalog embeddings that passed validation: what every
    stage downstream of validate-catalog reads, never a version that failed it."""
    version = last_validated_version(ctx.reports_dir, CATALOG_EMBEDDINGS)
    if version is None:
        raise NoValidatedVersionError(
            f"{CATALOG_EMBEDDINGS} has no version that passed validation; run embed-catalog and"
            " validate-catalog first (later stages read only validated versions)"
        )
    return version


def validated_rows(ctx: RunContext) -> DataFrame:
    """The live rows of the newest validated version of the catalog embeddings."""
    return live_rows(ctx.lake, validated_version(ctx))


def live_model_id(lake: TableEngine, version: int | None = None) -> str | None:
    """The model id of the live vectors (validation keeps it to one); None when empty."""
    row = live_rows(lake, version).select("model_id").first()
    return row.model_id if row else None


def live_vectors(ctx: RunContext, version: int | None = None) -> DataFrame:
    """item_id, vector of a catalog version (default: the newest validated one)."""
    version = validated_version(ctx) if version is None else version
    return live_rows(ctx.lake, version).select("item_id", "vector")


def previous_clusters(ctx: RunContext) -> dict[str, str]:
    if not ctx.lake.exists(DEDUP_CLUSTERS):
        return {}
    rows = ctx.lake.read(DEDUP_CLUSTERS).select("item_id", "cluster_id").collect()
    return {row.item_id: row.cluster_id for row in rows}


def previous_cluster_rows(ctx: RunContext) -> DataFrame:
    """item_id, cluster_id of the current ``dedup/clusters`` (empty before the first run)."""
    if not ctx.lake.exists(DEDUP_CLUSTERS):
        return ctx.spark.createDataFrame([], "item_id string, cluster_id string")
    return ctx.lake.read(DEDUP_CLUSTERS).select("item_id", "cluster_id")


def current_pairs(lake) -> DataFrame:
    """``dedup/pairs`` as decided by the run that wrote the current ``dedup/clusters``: a
    run killed between its two commits leaves newer pairs that no clusters reflect yet."""
    version = lake.matching_version(DEDUP_PAIRS, DEDUP_CLUSTERS)
    return lake.read(DEDUP_PAIRS, version)
