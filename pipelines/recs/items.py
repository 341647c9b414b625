"""The recs-items stage: top-N similar items per item from the neighbour graph, never the
item itself nor a member of its own dedup cluster (no duplicate of what is on screen)."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from pipelines.methods.clusters import CLUSTER_SCHEMA
from pipelines.methods.recommend import without_duplicates
from pipelines.runtime.context import RunContext, StageResult
from pipelines.tables import DEDUP_CLUSTERS, ITEM_RECS, NEIGHBORS, require


def top_n(rows: DataFrame, n: int) -> DataFrame:
    order = Window.partitionBy("item_id").orderBy(F.desc("score"), "neighbor_id")
    ranked = rows.withColumn("rank", F.row_number().over(order)).filter(F.col("rank") <= n)
    return ranked.select("item_id", "rank", F.col("neighbor_id").alias("rec_id"), "score")


def item_recs(ctx: RunContext) -> StageResult:
    require(ctx.lake, NEIGHBORS, "recs-items")
    graph = ctx.lake.read(NEIGHBORS)
    if ctx.lake.exists(DEDUP_CLUSTERS):
        clusters = ctx.lake.read(DEDUP_CLUSTERS)
    else:
        clusters = ctx.spark.createDataFrame([], CLUSTER_SCHEMA)
    recs = top_n(without_duplicates(graph, clusters), ctx.settings.recs.items_top_n)
    version, rows = ctx.write_stamped(recs, ITEM_RECS)
    details = {"top_n": ctx.settings.recs.items_top_n}
    return StageResult("recs-items", rows_read=rows, table_version=version, details=details)
