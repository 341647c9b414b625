"""The dedup stage: neighbour pairs above a cosine threshold, compared field by field and
scored by a Fellegi-Sunter model fitted on the catalog (or by explicit weights), clustered
without chaining into ``dedup/pairs`` and ``dedup/clusters``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.datasets.febrl import read_gold_pairs
from pipelines.dedup import probabilistic as fs
from pipelines.dedup.clustering import spark_clusters
from pipelines.dedup.probabilistic import SCORED
from pipelines.dedup.scoring import score_pairs_udf
from pipelines.errors import InputError
from pipelines.io.ids import id_column
from pipelines.io.sources import read_configured
from pipelines.runtime.context import RunContext, StageResult
from pipelines.runtime.faults import crash_point
from pipelines.runtime.reads import previous_cluster_rows, validated_rows
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


def _weighted(candidates: DataFrame, fields: DataFrame, cfg) -> DataFrame:
    """The explicit-weights override: the weighted mean of field similarities."""
    weights = cfg.weights()

    def side(prefix: str) -> DataFrame:
        return fields.select(
            F.col("item_id").alias(prefix), *[F.col(n).alias(f"{prefix}_{n}") for n in weights]
        )

    joined = candidates.join(side("a"), "a").join(side("b"), "b")
    return joined.mapInPandas(score_pairs_udf(weights, cfg.exact_fields), SCORED)


def _learned(ctx: RunContext, candidates: DataFrame, fields: DataFrame, cfg):
    """The Fellegi-Sunter model fitted on this catalog, and the pairs scored with it."""
    names = cfg.field_names()
    records = fs.prepared(fields, names).persist()
    sample = fs.sample_records(records, names, ctx.settings.evaluate.seed)
    kinds = fs.field_kinds(sample, names, cfg.exact_fields)
    u = fs.estimate_u(sample, names, kinds, ctx.settings.evaluate.seed)
    levels = fs.pair_levels(candidates, records, names, kinds).persist()
    gold = None
    if cfg.gold_pairs is not None:
        gold = labelled_levels(ctx, records, names, kinds, cfg.gold_pairs)
    model = fs.fit(levels, u, names, kinds, gold)
    fs.require_plausible(model, names)
    save_model(ctx, model, cfg, labelled=gold is not None)
    return fs.score_levels(levels, model, cfg.term_frequency), (records, levels)


def labelled_levels(ctx: RunContext, records: DataFrame, names, kinds, path) -> np.ndarray:
    """Comparison levels of the labelled duplicate pairs found among the live records."""
    pairs = [(min(a, b), max(a, b)) for a, b in read_gold_pairs(path) if a != b]
    frame = ctx.spark.createDataFrame(pairs, "a string, b string").withColumn(
        "cosine", F.lit(0.0).cast("float")
    )
    rows = fs.pair_levels(frame, records, names, kinds).select("levels").collect()
    if not rows:
        raise InputError(
            f"dedup.gold_pairs {path}: none of its {len(pairs)} pairs names two live items; "
            "its columns a and b must hold catalog ids"
        )
    log.info("dedup: %d of %d labelled pairs name two live items", len(rows), len(pairs))
    return np.array([r["levels"] for r in rows], dtype=np.int64)


def save_model(ctx: RunContext, model, cfg, labelled: bool) -> Path:
    path = ctx.reports_dir / "dedup" / "model.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {"run_id": ctx.run_id, "m_from": "labelled pairs" if labelled else "EM",
              "match_threshold": cfg.threshold(), "strong_match_threshold": cfg.strong_threshold(),
              "term_frequency": cfg.term_frequency, **model.as_dict()}  # fmt: skip
    path.write_text(json.dumps(report, indent=2))
    log.info("dedup: model (m from %s) in %s", report["m_from"], path)
    return path


def _as_maps(scored: DataFrame, names: list[str]) -> DataFrame:
    keys = F.array(*[F.lit(n) for n in names])

    def named(column: str) -> Column:
        clean = F.transform(column, lambda x: F.when(~F.isnan(x), x))
        return F.when(F.col(column).isNull(), None).otherwise(F.map_from_arrays(keys, clean))

    return scored.select(
        "a", "b", "cosine",
        named("field_scores").alias("field_scores"),
        F.when(F.col("field_levels").isNull(), None)
        .otherwise(F.map_from_arrays(keys, "field_levels")).alias("field_levels"),
        named("field_weights").alias("field_weights"),
        "match_weight", "match_score",
    )  # fmt: skip


def score_pairs(ctx: RunContext, candidates: DataFrame, fields: DataFrame):
    """Scored pairs with their decision, and what to unpersist once they are written."""
    cfg = ctx.settings.dedup
    if cfg.learned:
        scored, cached = _learned(ctx, candidates, fields, cfg)
    else:
        scored, cached = _weighted(candidates, fields, cfg), ()
    decision = F.when(F.col("match_score") >= cfg.threshold(), "match").otherwise("no_match")
    pairs = _as_maps(scored, cfg.field_names()).withColumn("decision", decision)
    return pairs, cached


def _pairs(ctx: RunContext, candidates: DataFrame, fields: DataFrame):
    """Score and commit the pairs; the committed pairs read back, and what to unpersist."""
    pairs, cached = score_pairs(ctx, candidates, fields)
    pairs = pairs.withColumn("run_id", F.lit(ctx.run_id))
    # pairs first: readers take the pairs of the run that wrote the current clusters
    version = ctx.lake.write(pairs, DEDUP_PAIRS, ctx.run_id)
    crash_point("dedup.between_commits")
    return ctx.lake.read(DEDUP_PAIRS, version), cached


def _clusters(ctx: RunContext, written: DataFrame, fields: DataFrame) -> int:
    """Cluster the accepted pairs on the executors and commit ``dedup/clusters``."""
    accepted = written.filter(F.col("decision") == "match").select("a", "b", "match_score")
    lengths = fields.select("item_id", "text_length")
    strong = ctx.settings.dedup.strong_threshold()
    clusters = spark_clusters(accepted, lengths, previous_cluster_rows(ctx), strong)
    frame = clusters.withColumn("run_id", F.lit(ctx.run_id))
    return ctx.lake.write(frame, DEDUP_CLUSTERS, ctx.run_id)


def size_distribution(clusters: DataFrame) -> dict[str, int]:
    """Cluster size -> how many clusters have it."""
    sizes = clusters.groupBy("cluster_id").count().groupBy("count").count()
    return {str(size): int(n) for size, n in sorted(sizes.collect())}


def dedup_catalog(ctx: RunContext) -> StageResult:
    cfg = ctx.settings.dedup
    require(ctx.lake, NEIGHBORS, "dedup")
    candidates = candidate_pairs(ctx.lake.read(NEIGHBORS), cfg.cosine_threshold)
    cached = ()
    with ctx.workdir("sources", "dedup") as workdir:
        fields = record_fields(ctx, cfg.field_names(), workdir).persist()
        try:
            written, cached = _pairs(ctx, candidates, fields)
            version = _clusters(ctx, written, fields)
        finally:
            for frame in (fields, *cached):
                frame.unpersist()
    decisions = dict(written.groupBy("decision").count().collect())
    n_pairs, matches = sum(decisions.values()), decisions.get("match", 0)
    sizes = size_distribution(ctx.lake.read(DEDUP_CLUSTERS, version))
    clusters = sum(sizes.values())
    clustered = sum(int(size) * n for size, n in sizes.items())
    log.info("dedup: %d candidate pairs, %d matches, %d clusters", n_pairs, matches, clusters)
    return StageResult(
        stage="dedup",
        rows_read=n_pairs,
        table_version=version,
        details={"matches": matches, "clusters": clusters, "clustered_items": clustered,
                 "cluster_sizes": sizes,
                 "scoring": "fellegi-sunter" if cfg.learned else "weighted mean"},
    )  # fmt: skip
