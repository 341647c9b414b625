"""The recs-items stage: top-N similar items per item from the neighbour graph, never the
item itself nor a member of its own dedup cluster (no duplicate of what is on screen)."""

from __future__ import annotations

import time

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from pipelines.dedup.stage import CLUSTER_SCHEMA
from pipelines.recs.errors import RecsInputError
from pipelines.runtime.context import RunContext, StageResult
from pipelines.tables import DEDUP_CLUSTERS, ITEM_RECS, NEIGHBORS


def without_duplicates(graph: DataFrame, clusters: DataFrame) -> DataFrame:
    """Graph rows whose neighbour is not in the item's own cluster."""
    own = clusters.select("item_id", F.col("cluster_id").alias("_own"))
    theirs = clusters.select(F.col("item_id").alias("neighbor_id"), F.col("cluster_id").alias("_n"))
    joined = graph.join(own, "item_id", "left").join(theirs, "neighbor_id", "left")
    same = F.col("_own").isNotNull() & F.col("_own").eqNullSafe(F.col("_n"))  # never null
    return joined.filter(~same & (F.col("item_id") != F.col("neighbor_id"))).drop("_own", "_n")


def top_n(rows: DataFrame, n: int) -> DataFrame:
    order = Window.partitionBy("item_id").orderBy(F.desc("score"), "neighbor_id")
    ranked = rows.withColumn("rank", F.row_number().over(order)).filter(F.col("rank") <= n)
    return ranked.select("item_id", "rank", F.col("neighbor_id").alias("rec_id"), "score")


def item_recs(ctx: RunContext) -> StageResult:
    started = time.perf_counter()
    if not ctx.lake.exists(NEIGHBORS):
        raise RecsInputError(f"{NEIGHBORS} does not exist; run the neighbors stage first")
    graph = ctx.lake.read(NEIGHBORS)
    if ctx.lake.exists(DEDUP_CLUSTERS):
        clusters = ctx.lake.read(DEDUP_CLUSTERS)
    else:
        clusters = ctx.spark.createDataFrame([], CLUSTER_SCHEMA)
    recs = top_n(without_duplicates(graph, clusters), ctx.settings.recs.items_top_n)
    version, rows = ctx.write_stamped(recs, ITEM_RECS)
    return StageResult(
        stage="recs-items",
        rows_read=rows,
        seconds=round(time.perf_counter() - started, 3),
        table_version=version,
        details={"top_n": ctx.settings.recs.items_top_n},
    )
