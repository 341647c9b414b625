"""The recs-users stage: top-N items per user, never an item the user has seen nor a
duplicate of one. Cold items (no events) stay recommendable through their embeddings."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType, IntegerType, StringType, StructField, StructType

from pipelines.methods.blend import blend_udf
from pipelines.methods.cooccurrence import recent_items
from pipelines.neighbors.graph import stage_key_blocks
from pipelines.recs.config import RecsConfig
from pipelines.recs.errors import RecsInputError
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.runtime.reads import live_model_id, live_vectors, validated_version
from pipelines.runtime.spark import task_threads
from pipelines.tables import COOCCURRENCE, DEDUP_CLUSTERS, EVENTS, USER_EMBEDDINGS, USER_RECS

log = logging.getLogger(__name__)
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
    blocks = stage_key_blocks(items, staging, n_items, block_rows=n_items)
    inputs = user_inputs(users, events, cooc, clusters, cfg.recent_items)
    parts = max(users.sparkSession.sparkContext.defaultParallelism, 1)
    blend = weight if weight is not None else cfg.cooccurrence_weight
    udf = blend_udf(blocks, blend, cfg.users_top_n, threads)
    return inputs.repartition(parts).mapInPandas(udf, USER_RECS_SCHEMA)


def current_users(ctx: RunContext) -> DataFrame:
    """User vectors in the catalog's current vector space; others are left out (they are
    rebuilt by the next embed-events run without an interval)."""
    users = ctx.lake.read(USER_EMBEDDINGS)
    model = live_model_id(ctx.lake, validated_version(ctx))
    if model is None:
        return users
    stale = users.filter(F.col("model_id") != model).count()
    if stale:
        log.warning("recs-users: %d users have vectors of another model; skipped", stale)
    return users.filter(F.col("model_id") == model)


def user_recs(ctx: RunContext) -> StageResult:
    started = time.perf_counter()
    lake = ctx.lake
    for table, stage in ((USER_EMBEDDINGS, "embed-events"), (EVENTS, "embed-events")):
        if not lake.exists(table):
            raise RecsInputError(f"{table} does not exist; run the {stage} stage first")
    cooc = lake.read(COOCCURRENCE) if lake.exists(COOCCURRENCE) else None
    if cooc is None:
        cooc = ctx.spark.createDataFrame([], "item_id string, neighbor_id string, score float")
    clusters = lake.read(DEDUP_CLUSTERS) if lake.exists(DEDUP_CLUSTERS) else None
    with ctx.workdir("recs-users", safe_run_id(ctx.run_id)) as staging:
        recs = recommend(
            current_users(ctx), live_vectors(ctx), lake.read(EVENTS), cooc, clusters,
            ctx.settings.recs, staging, threads=task_threads(ctx.spark),
        )  # fmt: skip
        version, rows = ctx.write_stamped(recs, USER_RECS)
    return StageResult(
        stage="recs-users",
        rows_read=rows,
        seconds=round(time.perf_counter() - started, 3),
        table_version=version,
        details={"cooccurrence_weight": ctx.settings.recs.cooccurrence_weight},
    )
