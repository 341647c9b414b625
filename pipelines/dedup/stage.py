"""The dedup stage: neighbour pairs above a cosine threshold, verified field by field with
rapidfuzz, clustered by connected components into ``dedup/pairs`` and ``dedup/clusters``."""

from __future__ import annotations

import logging
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.dedup.scoring import SCORED, score_pairs_udf
from pipelines.io.ids import id_column
from pipelines.io.sources import read_configured
from pipelines.methods.clusters import CLUSTER_SCHEMA, cluster_rows
from pipelines.runtime.context import RunContext, StageResult
from pipelines.runtime.faults import crash_point
from pipelines.runtime.reads import previous_clusters, validated_rows
from pipelines.tables import DEDUP_CLUSTERS, DEDUP_PAIRS, NEIGHBORS, require

log = logging.getLogger(__name__)


def candidate_pairs(graph: DataFrame, threshold: float) -> DataFrame:
    """Each unordered neighbour pair at or above ``threshold`` once, a < b."""
    pairs = graph.filter(F.col("score") >= threshold).select(
        F.least("item_id", "neighbor_id").alias("a"),
        F.greatest("item_id", "neighbor_id").alias("b"),
        F.col("score").alias("cosine"),
    )
    return pairs.groupBy("a", "b").agg(F.max("cosine").alias("cosine"))


def record_fields(ctx: RunContext, names: list[str], workdir: Path) -> DataFrame:
    """item_id, text_length and the named fields of every live item ("text" is the
    embedded text, other names are catalog source columns, staged in ``workdir``)."""
    live = validated_rows(ctx).select("item_id", "text", "text_length")
    source_fields = [name for name in names if name != "text"]
    if not source_fields:
        return live
    cfg = ctx.settings.catalog
    needed = [cfg.id_column, *source_fields]
    source = read_configured(ctx.lake, "catalog", cfg, needed, workdir).rows
    source = source.select(
        id_column(F.col(cfg.id_column).cast("string")).alias("item_id"),
        *[F.col(name).cast("string").alias(name) for name in source_fields],
    ).dropDuplicates(["item_id"])
    return live.join(source, "item_id")


def score_pairs(candidates: DataFrame, fields: DataFrame, ctx: RunContext) -> DataFrame:
    cfg = ctx.settings.dedup
    weights = cfg.weights()

    def side(prefix: str) -> DataFrame:
        return fields.select(
            F.col("item_id").alias(prefix), *[F.col(n).alias(f"{prefix}_{n}") for n in weights]
        )

    joined = candidates.join(side("a"), "a").join(side("b"), "b")
    udf = score_pairs_udf(weights, cfg.exact_fields, cfg.match_threshold)
    scored = joined.mapInPandas(udf, SCORED)
    decision = F.when(F.col("is_match"), "match").otherwise("no_match")
    return scored.withColumn("decision", decision).drop("is_match")


def _pairs(ctx: RunContext, candidates: DataFrame, fields: DataFrame):
    """Score and commit the pairs; (matches, text lengths of matched items, pairs read back)."""
    try:
        pairs = score_pairs(candidates, fields, ctx).withColumn("run_id", F.lit(ctx.run_id))
        # pairs first: readers take the pairs of the run that wrote the current clusters
        pairs_version = ctx.lake.write(pairs, DEDUP_PAIRS, ctx.run_id)
        crash_point("dedup.between_commits")
        written = ctx.lake.read(DEDUP_PAIRS, pairs_version)
        matches = [(r.a, r.b) for r in written.filter(F.col("decision") == "match").collect()]
        in_pairs = {item for pair in matches for item in pair}
        members = ctx.spark.createDataFrame([(i,) for i in sorted(in_pairs)], "item_id string")
        lengths = {
            r.item_id: r.text_length
            for r in fields.join(members, "item_id", "left_semi").select("item_id", "text_length")
            .collect()
        }  # fmt: skip
    finally:
        fields.unpersist()
    return matches, lengths, written


def dedup_catalog(ctx: RunContext) -> StageResult:
    cfg = ctx.settings.dedup
    require(ctx.lake, NEIGHBORS, "dedup")
    candidates = candidate_pairs(ctx.lake.read(NEIGHBORS), cfg.cosine_threshold)
    with ctx.workdir("sources", "dedup") as workdir:
        fields = record_fields(ctx, list(cfg.weights()), workdir).persist()
        matches, lengths, written = _pairs(ctx, candidates, fields)
    clusters = cluster_rows(matches, lengths, previous_clusters(ctx))
    frame = ctx.spark.createDataFrame(clusters, CLUSTER_SCHEMA).withColumn(
        "run_id", F.lit(ctx.run_id)
    )
    version = ctx.lake.write(frame, DEDUP_CLUSTERS, ctx.run_id)
    n_pairs = written.count()
    log.info(
        "dedup: %d candidate pairs, %d matches, %d clusters",
        n_pairs,
        len(matches),
        clusters.cluster_id.nunique(),
    )
    return StageResult(
        stage="dedup",
        rows_read=n_pairs,
        table_version=version,
        details={"matches": len(matches), "clusters": int(clusters.cluster_id.nunique()),
                 "clustered_items": len(clusters)},
    )  # fmt: skip
