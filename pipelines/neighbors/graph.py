"""The neighbors stage: the top-k cosine graph of every live catalog item (exact, or by an
approximate index above ``ann_min_items``), and the outliers whose best neighbour is far
below the catalog's distribution."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType

from pipelines.neighbors.config import NeighborsConfig
from pipelines.neighbors.errors import AnnRecallError
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.runtime.reads import live_vectors, validated_version
from pipelines.runtime.spark import task_threads
from pipelines.tables import NEIGHBORS, OUTLIERS
from pipelines.vectors.ann import ann_top_k, default_nlist, prepared_index, recall_at_k
from pipelines.vectors.blocks import KeyBlock
from pipelines.vectors.search import stage_keys, top_k

log = logging.getLogger(__name__)

# items whose exact top-k the ann graph is checked against (and as many to tune nprobe on)
RECALL_SAMPLE = 1000
# tuning aims this far above ann_min_recall, so the check sample's own noise rarely fails it
TUNING_MARGIN = 0.01


@dataclass
class NeighborGraph:
    rows: DataFrame  # lazy item_id, rank, neighbor_id, score
    blocks: list[KeyBlock]
    method: str
    check: pd.DataFrame | None = None  # ann: the exact top-k of the recall sample
    details: dict = field(default_factory=dict)


def chosen_method(cfg: NeighborsConfig, items: int) -> str:
    if cfg.method == "auto":
        return "ann" if items > cfg.ann_min_items else "exact"
    return "exact" if items == 0 else cfg.method  # an empty catalog has nothing to index


def neighbor_graph(
    vectors: DataFrame, cfg: NeighborsConfig, staging: Path, threads: int = 1
) -> NeighborGraph:
    """The lazy graph of ``vectors`` (item_id, vector; persist it) against itself; the files
    it reads stay in ``staging`` until the caller removes them."""
    items = vectors.count()
    blocks = stage_keys(vectors, staging, cfg.key_block_rows, items)
    method = chosen_method(cfg, items)
    log.info("neighbors: %d items, %d key blocks, k=%d, %s", items, len(blocks), cfg.k, method)
    if method == "exact":
        rows = top_k(vectors, blocks, cfg.k, cfg.query_block_rows, threads, items)
        return NeighborGraph(rows, blocks, method)
    return _ann_graph(vectors, cfg, staging, blocks, threads)


def _ann_graph(
    vectors: DataFrame, cfg: NeighborsConfig, staging: Path, blocks: list[KeyBlock], threads: int
) -> NeighborGraph:
    """The index built from the staged ``blocks`` and tuned on the driver, queried by tasks."""
    items = sum(block.rows for block in blocks)
    target = min(1.0, cfg.ann_min_recall + TUNING_MARGIN)
    nlist = cfg.ann_nlist or default_nlist(items)
    index, check, details = prepared_index(
        blocks, staging, cfg.k, nlist, cfg.ann_nprobe, target, RECALL_SAMPLE
    )
    log.info("neighbors: ann index %s", details)
    if index.nlist >= 64 and index.nprobe * 8 > index.nlist:
        log.warning(
            "neighbors: the ann graph scans %d of %d lists per item to reach recall %.2f: the"
            " vectors have little cluster structure, so it costs nearly what exact does",
            index.nprobe, index.nlist, target,
        )  # fmt: skip
    rows = ann_top_k(vectors, index, cfg.k, cfg.query_block_rows, threads, items)
    return NeighborGraph(rows, blocks, "ann", check, details)


def measured_recall(graph: NeighborGraph, rows: DataFrame, k: int) -> dict:
    """recall@k of an ann graph's ``rows`` (persist them) on its sample against exact, with
    the index's settings."""
    ids = graph.check["item_id"].unique()
    sample = rows.sparkSession.createDataFrame(pd.DataFrame({"item_id": ids}), "item_id string")
    approx = rows.join(F.broadcast(sample), "item_id").toPandas()
    recall = recall_at_k(graph.check, approx)
    log.info("neighbors: ann recall@%d %.4f on %d sampled items", k, recall, len(ids))
    return {**graph.details, "ann_recall_at_k": round(recall, 4), "ann_recall_sample": len(ids)}


def checked_recall(graph: NeighborGraph, rows: DataFrame, cfg: NeighborsConfig) -> dict:
    """``measured_recall``; raises below ``ann_min_recall``."""
    details = measured_recall(graph, rows, cfg.k)
    recall, sample = details["ann_recall_at_k"], details["ann_recall_sample"]
    if recall < cfg.ann_min_recall:
        raise AnnRecallError(
            f"the ann neighbour graph's recall@{cfg.k} is {recall:.4f} on {sample} sampled"
            f" items, below [neighbors] ann_min_recall = {cfg.ann_min_recall}; {NEIGHBORS} was"
            f" not written. Raise [neighbors] ann_nprobe (now {details['ann_nprobe']}, at most"
            f" ann_nlist = {details['ann_nlist']}) or leave it unset to tune it, lower ann_nlist,"
            ' or set method = "exact"'
        )
    return details


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


def _write_checked(ctx: RunContext, graph: NeighborGraph) -> tuple[int, dict]:
    """Commit the graph; an ann graph only once its recall passed, so a failed check leaves
    the table at its previous version."""
    if graph.method == "exact":
        return ctx.lake.write(graph.rows, NEIGHBORS, ctx.run_id), {}
    rows = graph.rows.persist(StorageLevel.MEMORY_AND_DISK)  # computed once: checked, written
    try:
        checked = checked_recall(graph, rows, ctx.settings.neighbors)
        return ctx.lake.write(rows, NEIGHBORS, ctx.run_id), checked
    finally:
        rows.unpersist()


def build_neighbors(ctx: RunContext) -> StageResult:
    cfg = ctx.settings.neighbors
    version = validated_version(ctx)
    vectors = live_vectors(ctx, version).persist()
    try:
        with ctx.workdir("neighbors", safe_run_id(ctx.run_id), cfg.staging_dir) as staging:
            graph = neighbor_graph(vectors, cfg, staging, task_threads(ctx.spark))
            graph_version, checked = _write_checked(ctx, graph)
    finally:
        vectors.unpersist()
    written = ctx.lake.read(NEIGHBORS, graph_version)
    odd = outliers(written, cfg.outlier_mads).withColumn("run_id", F.lit(ctx.run_id))
    ctx.lake.write(odd, OUTLIERS, ctx.run_id)
    items = sum(block.rows for block in graph.blocks)
    n_outliers = ctx.lake.read(OUTLIERS).count()
    log.info("neighbors: graph of %d items written, %d outliers", items, n_outliers)
    return StageResult(
        stage="neighbors",
        rows_read=items,
        table_version=graph_version,
        details={"k": cfg.k, "method": graph.method, "key_blocks": len(graph.blocks),
                 "embeddings_version": version, "outliers": n_outliers, **checked},
    )  # fmt: skip
