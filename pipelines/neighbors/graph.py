"""The neighbors stage: the exact top-k cosine graph of every live catalog item, and the
outliers whose best neighbour is far below the catalog's distribution."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType

from pipelines.neighbors.config import NeighborsConfig
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.runtime.reads import live_vectors, validated_version
from pipelines.runtime.spark import task_threads
from pipelines.tables import NEIGHBORS, OUTLIERS
from pipelines.vectors.blocks import KeyBlock
from pipelines.vectors.search import stage_keys, top_k

log = logging.getLogger(__name__)


def neighbor_graph(
    vectors: DataFrame, cfg: NeighborsConfig, staging: Path, threads: int = 1
) -> tuple[DataFrame, list[KeyBlock]]:
    """Lazy (item_id, rank, neighbor_id, score) of ``vectors`` (item_id, vector; persist it)
    against itself; the key blocks it reads stay in ``staging`` until the caller removes them."""
    items = vectors.count()
    blocks = stage_keys(vectors, staging, cfg.key_block_rows, items)
    log.info("neighbors: %d items, %d key blocks, k=%d", items, len(blocks), cfg.k)
    return top_k(vectors, blocks, cfg.k, cfg.query_block_rows, threads, items), blocks


def outliers(graph: DataFrame, mads: float) -> DataFrame:
    """Items whose best score is below median - mads * MAD of every item's best score."""
    best = graph.filter(F.col("rank") == 1).select("item_id", F.col("score").alias("best_score"))
    scores = np.array([r.best_score for r in best.select("best_score").collect()])
    if len(scores) == 0:
        return best.withColumn("threshold", F.lit(0.0).cast(FloatType()))
    median = float(np.median(scores))
    # MAD is 0 when most items have an exact twin: fall back to the standard deviation
    spread = float(np.median(np.abs(scores - median))) or float(np.std(scores))
    threshold = median - mads * spread
    return best.filter(F.col("best_score") < threshold).withColumn(
        "threshold", F.lit(threshold).cast(FloatType())
    )


def build_neighbors(ctx: RunContext) -> StageResult:
    cfg = ctx.settings.neighbors
    version = validated_version(ctx)
    vectors = live_vectors(ctx, version).persist()
    try:
        with ctx.workdir("neighbors", safe_run_id(ctx.run_id), cfg.staging_dir) as staging:
            graph, blocks = neighbor_graph(vectors, cfg, staging, task_threads(ctx.spark))
            graph_version = ctx.lake.write(graph, NEIGHBORS, ctx.run_id)
    finally:
        vectors.unpersist()
    written = ctx.lake.read(NEIGHBORS, graph_version)
    odd = outliers(written, cfg.outlier_mads).withColumn("run_id", F.lit(ctx.run_id))
    ctx.lake.write(odd, OUTLIERS, ctx.run_id)
    items = sum(block.rows for block in blocks)
    n_outliers = ctx.lake.read(OUTLIERS).count()
    log.info("neighbors: graph of %d items written, %d outliers", items, n_outliers)
    return StageResult(
        stage="neighbors",
        rows_read=items,
        table_version=graph_version,
        details={"k": cfg.k, "key_blocks": len(blocks), "embeddings_version": version,
                 "outliers": n_outliers},
    )  # fmt: skip
