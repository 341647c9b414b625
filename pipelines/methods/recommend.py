"""Recommending from vectors, co-occurrence and dedup clusters: what recs-users and
recs-items run, and what evaluate re-runs on a held-out split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DoubleType,
    FloatType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from pipelines.methods.blend import blend_udf
from pipelines.methods.cooccurrence import cooccurrence, recent_items
from pipelines.methods.user_vectors import user_vectors, weighted_events
from pipelines.vectors.search import stage_keys

if TYPE_CHECKING:
    from pipelines.methods.config import UsersConfig
    from pipelines.recs.config import RecsConfig


USER_RECS_SCHEMA = StructType(
    [
        StructField("user_id", StringType(), False),
        StructField("rank", IntegerType(), False),
        StructField("item_id", StringType(), False),
        StructField("score", FloatType(), False),
    ]
)
# recommend_grid: the same rows once per blend weight
GRID_RECS_SCHEMA = StructType(
    [*USER_RECS_SCHEMA.fields, StructField("weight", DoubleType(), False)]
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


@dataclass(frozen=True)
class Scoring:
    """What users are scored against, and how: the live items (item_id, vector), the dedup
    clusters (None: none), the settings, and torch threads per Spark task."""

    items: DataFrame
    clusters: DataFrame | None
    users_cfg: UsersConfig
    cfg: RecsConfig
    threads: int = 1


def recommend_grid(
    users: DataFrame,
    events: DataFrame,
    cooc: DataFrame,
    scoring: Scoring,
    staging: Path,
    weights: Sequence[float],
) -> DataFrame:
    """Lazy (user_id, rank, item_id, score, weight): the top ``users_top_n`` per user at each
    blend weight, every item scored once per user from key blocks of ``item_block_rows``
    staged under ``staging`` (the caller removes it)."""
    items, cfg = scoring.items, scoring.cfg
    n_items = items.count()
    if n_items == 0:  # nothing to recommend
        return users.sparkSession.createDataFrame([], GRID_RECS_SCHEMA)
    blocks = stage_keys(items, staging, block_rows=cfg.item_block_rows, total=n_items)
    inputs = user_inputs(users, events, cooc, scoring.clusters, cfg.recent_items)
    parts = max(users.sparkSession.sparkContext.defaultParallelism, 1)
    udf = blend_udf(blocks, list(weights), cfg.users_top_n, scoring.threads)
    return inputs.repartition(parts).mapInPandas(udf, GRID_RECS_SCHEMA)


def recommend(
    users: DataFrame,
    events: DataFrame,
    cooc: DataFrame,
    scoring: Scoring,
    staging: Path,
    weight: float,
) -> DataFrame:
    """Lazy recs (user_id, rank, item_id, score) at one blend weight (see recommend_grid)."""
    return recommend_grid(users, events, cooc, scoring, staging, [weight]).drop("weight")


def recommend_from_events(
    events: DataFrame, scoring: Scoring, staging: Path, weights: Sequence[float]
) -> DataFrame:
    """recommend_grid with user vectors and co-occurrence rebuilt from ``events`` alone (a
    training split). Event texts are left out of these vectors."""
    users_cfg = scoring.users_cfg
    users = user_vectors(weighted_events(events, scoring.items, users_cfg), users_cfg)
    cooc = cooccurrence(events, users_cfg.history_items, users_cfg.cooccurrence_k)
    return recommend_grid(users, events, cooc, scoring, staging, weights)


def without_duplicates(graph: DataFrame, clusters: DataFrame) -> DataFrame:
    """Graph rows whose neighbour is not in the item's own cluster."""
    own = clusters.select("item_id", F.col("cluster_id").alias("_own"))
    theirs = clusters.select(F.col("item_id").alias("neighbor_id"), F.col("cluster_id").alias("_n"))
    joined = graph.join(own, "item_id", "left").join(theirs, "neighbor_id", "left")
    same = F.col("_own").isNotNull() & F.col("_own").eqNullSafe(F.col("_n"))  # never null
    return joined.filter(~same & (F.col("item_id") != F.col("neighbor_id"))).drop("_own", "_n")
