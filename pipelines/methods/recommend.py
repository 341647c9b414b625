"""Recommending from vectors, co-occurrence and dedup clusters: what recs-users and
recs-items run, and what evaluate re-runs on a held-out split."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType, IntegerType, StringType, StructField, StructType

from pipelines.methods.blend import blend_udf
from pipelines.methods.cooccurrence import recent_items
from pipelines.vectors.search import stage_keys

if TYPE_CHECKING:
    from pipelines.recs.config import RecsConfig


USER_RECS_SCHEMA = StructType(
    [
        StructField("user_id", StringType(), False),
        StructField("rank", IntegerType(), False),
        StructField("item_id", StringType(), False),
        StructField("score", FloatType(), False),
    ]
)


def seen_items(events: DataFrame, clusters: DataFrame | None) -> DataFrame:
    """(user_id, item_id) a user must not be offered: seen items and their duplicates."""
    seen = events.select("user_id", "item_id").distinct()
    if clusters is None:
        return seen
    members = clusters.select("item_id", "cluster_id")
    dup = seen.join(members, "item_id").select("user_id", "cluster_id")
    dup = dup.join(members, "cluster_id").select("user_id", "item_id")
    return seen.unionByName(dup).distinct()


def user_inputs(
    users: DataFrame, events: DataFrame, cooc: DataFrame, clusters: DataFrame | None, recent: int
) -> DataFrame:
    """user_id, vector, seen, cooc_ids, cooc_scores (co-occurrence summed over recent items)."""
    seen = (
        seen_items(events, clusters).groupBy("user_id").agg(F.collect_list("item_id").alias("seen"))
    )
    votes = recent_items(events, recent).select("user_id", "item_id").join(cooc, "item_id")
    summed = votes.groupBy("user_id", "neighbor_id").agg(F.sum("score").alias("s"))
    lists = summed.groupBy("user_id").agg(
        F.collect_list("neighbor_id").alias("cooc_ids"), F.collect_list("s").alias("cooc_scores")
    )
    return (
        users.select("user_id", "vector")
        .join(seen, "user_id", "left")
        .join(lists, "user_id", "left")
    )


def recommend(
    users: DataFrame,
    items: DataFrame,
    events: DataFrame,
    cooc: DataFrame,
    clusters: DataFrame | None,
    cfg: RecsConfig,
    staging: Path,
    weight: float | None = None,
    threads: int = 1,
) -> DataFrame:
    """Lazy recs (user_id, rank, item_id, score); the caller removes ``staging`` after use."""
    n_items = items.count()
    if n_items == 0:  # nothing to recommend
        return users.sparkSession.createDataFrame([], USER_RECS_SCHEMA)
    blocks = stage_keys(items, staging, block_rows=n_items, total=n_items)
    inputs = user_inputs(users, events, cooc, clusters, cfg.recent_items)
    parts = max(users.sparkSession.sparkContext.defaultParallelism, 1)
    blend = weight if weight is not None else cfg.cooccurrence_weight
    udf = blend_udf(blocks, blend, cfg.users_top_n, threads)
    return inputs.repartition(parts).mapInPandas(udf, USER_RECS_SCHEMA)


def without_duplicates(graph: DataFrame, clusters: DataFrame) -> DataFrame:
    """Graph rows whose neighbour is not in the item's own cluster."""
    own = clusters.select("item_id", F.col("cluster_id").alias("_own"))
    theirs = clusters.select(F.col("item_id").alias("neighbor_id"), F.col("cluster_id").alias("_n"))
    joined = graph.join(own, "item_id", "left").join(theirs, "neighbor_id", "left")
    same = F.col("_own").isNotNull() & F.col("_own").eqNullSafe(F.col("_n"))  # never null
    return joined.filter(~same & (F.col("item_id") != F.col("neighbor_id"))).drop("_own", "_n")
