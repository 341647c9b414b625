"""The neighbors stage: the exact top-k cosine graph of every live catalog item, and the
outliers whose best neighbour is far below the catalog's distribution."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType, IntegerType, LongType, StringType, StructField, StructType

from pipelines.neighbors.config import NeighborsConfig
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.runtime.reads import live_vectors, validated_version
from pipelines.runtime.spark import task_threads
from pipelines.tables import NEIGHBORS, OUTLIERS
from pipelines.vectors.blocks import KeyBlock, top_k_udf, write_key_block

log = logging.getLogger(__name__)

GRAPH_SCHEMA = StructType(
    [
        StructField("item_id", StringType(), False),
        StructField("rank", IntegerType(), False),
        StructField("neighbor_id", StringType(), False),
        StructField("score", FloatType(), False),
    ]
)
MANIFEST = StructType(
    [
        StructField("ids_file", StringType()),
        StructField("vectors_file", StringType()),
        StructField("rows", LongType()),
    ]
)


def _block_writer(folder: Path):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = [batch for batch in batches if len(batch)]
        if frames:  # the whole partition is one key block
            block = write_key_block(folder, pd.concat(frames, ignore_index=True))
            yield pd.DataFrame([block.__dict__])

    return run


def stage_key_blocks(vectors: DataFrame, folder: Path, total: int, block_rows: int) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    parts = max(1, math.ceil(total / block_rows))
    rows = vectors.repartition(parts).mapInPandas(_block_writer(folder), MANIFEST).collect()
    return [KeyBlock(r.ids_file, r.vectors_file, r.rows) for r in rows]


def _rechunked(run, rows: int):
    """Feed ``run`` query blocks of ``rows`` rows whatever Arrow's batch size is."""

    def regroup(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        pending: list[pd.DataFrame] = []
        size = 0
        for batch in batches:
            pending.append(batch)
            size += len(batch)
            if size >= rows:
                merged = pd.concat(pending, ignore_index=True)
                for start in range(0, len(merged) - rows + 1, rows):
                    yield merged.iloc[start : start + rows]
                rest = merged.iloc[len(merged) - len(merged) % rows :]
                pending, size = [rest], len(rest)
        if size:
            yield pd.concat(pending, ignore_index=True)

    return lambda batches: run(regroup(batches))


def neighbor_graph(
    vectors: DataFrame, cfg: NeighborsConfig, staging: Path, threads: int = 1
) -> tuple[DataFrame, list[KeyBlock]]:
    """Lazy (item_id, rank, neighbor_id, score) of ``vectors`` (item_id, vector; persist it)
    against itself; the key blocks it reads stay in ``staging`` until the caller removes them."""
    total = vectors.count()
    blocks = stage_key_blocks(vectors, staging, total, cfg.key_block_rows)
    spark = vectors.sparkSession
    parts = max(spark.sparkContext.defaultParallelism, math.ceil(total / cfg.query_block_rows))
    log.info(
        "neighbors: %d items, %d key blocks, %d query tasks, k=%d",
        total,
        len(blocks),
        parts,
        cfg.k,
    )
    run = _rechunked(top_k_udf(blocks, cfg.k, threads), cfg.query_block_rows)
    graph = vectors.repartition(parts).mapInPandas(run, GRAPH_SCHEMA)
    return graph, blocks


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
    started = time.perf_counter()
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
        seconds=round(time.perf_counter() - started, 3),
        table_version=graph_version,
        details={"k": cfg.k, "key_blocks": len(blocks), "embeddings_version": version,
                 "outliers": n_outliers},
    )  # fmt: skip
