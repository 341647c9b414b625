"""Scoring the products against labeled data: dedup against gold pairs, item-to-item recs
under leave-last-out with popularity and random baselines from the same split.

Reports go to ``<lake>/reports/evaluate/*.json``; nothing here tunes on the labels.
"""

from __future__ import annotations

import json
import logging
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pyspark.sql import functions as F

from pipelines.datasets.febrl import read_gold_pairs
from pipelines.evaluate.metrics import (
    bcubed,
    evaluate_rankings,
    gold_clusters,
    item_to_item_ranking,
    leave_last_out,
    pairwise_scores,
    popularity_ranking,
    random_ranking,
)
from pipelines.io.ids import id_column
from pipelines.io.sources import read_configured
from pipelines.io.times import event_time
from pipelines.methods.holdout import EVENT_COLUMNS, hold_out_last
from pipelines.methods.recommend import Scoring, recommend_from_events, without_duplicates
from pipelines.methods.tuning import BlendChoice, tune_blend
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.runtime.reads import live_vectors, previous_clusters, validated_rows
from pipelines.runtime.spark import task_threads
from pipelines.tables import DEDUP_CLUSTERS, EVENTS, NEIGHBORS, require

if TYPE_CHECKING:
    from pipelines.recs.config import RecsConfig

log = logging.getLogger(__name__)


def _live_items(ctx: RunContext) -> list[str]:
    live = validated_rows(ctx).select("item_id")
    return sorted(r.item_id for r in live.collect())


def cluster_pairs(clusters: dict[str, str]) -> list[tuple[str, str]]:
    """Every pair of items that share a cluster: what the clustering claims."""
    members: dict[str, list[str]] = {}
    for item, cluster in clusters.items():
        members.setdefault(cluster, []).append(item)
    return [pair for group in members.values() for pair in combinations(sorted(group), 2)]


def evaluate_dedup(ctx: RunContext, gold_file: Path) -> dict:
    require(ctx.lake, DEDUP_CLUSTERS, "evaluate")
    items = _live_items(ctx)
    gold = read_gold_pairs(gold_file)
    predicted = previous_clusters(ctx)
    pairs = pairwise_scores(cluster_pairs(predicted), gold)
    cubed = bcubed(predicted, gold_clusters(items, gold), items)
    report = {
        "gold": str(gold_file),
        "items": len(items),
        "gold_pairs": len(gold),
        "predicted_pairs": pairs.tp + pairs.fp,
        "pairwise_precision": round(pairs.precision, 4),
        "pairwise_recall": round(pairs.recall, 4),
        "pairwise_f1": round(pairs.f1, 4),
        "bcubed_precision": round(cubed.precision, 4),
        "bcubed_recall": round(cubed.recall, 4),
        "bcubed_f1": round(cubed.f1, 4),
        "dedup": ctx.settings.dedup.model_dump(),
    }
    _save(ctx, "dedup", report)
    return report


def read_events(ctx: RunContext) -> pd.DataFrame:
    """user_id, item_id, timestamp of the [events] source (times read as embed-events does)."""
    cfg = ctx.settings.events
    columns = [cfg.user_column, cfg.item_column, cfg.timestamp_column]
    with ctx.workdir("sources", "evaluate") as workdir:
        source = read_configured(ctx.lake, "events", cfg, columns, workdir).rows
        frame = source.select(
            id_column(F.col(cfg.user_column).cast("string")).alias("user_id"),
            id_column(F.col(cfg.item_column).cast("string")).alias("item_id"),
            event_time(F.col(cfg.timestamp_column)).alias("timestamp"),
        ).toPandas()
    usable = frame["timestamp"].notna() & frame["user_id"].notna() & frame["item_id"].notna()
    if not usable.all():  # the embed-events stage quarantines these; here they are skipped
        log.warning("evaluate: %d events without user, item or time skipped", (~usable).sum())
    return frame[usable]


def neighbor_lists(ctx: RunContext, items: set[str]) -> dict[str, list[str]]:
    """Ranked neighbours of ``items``, duplicates of each item removed."""
    require(ctx.lake, NEIGHBORS, "evaluate")
    wanted = ctx.spark.createDataFrame([(i,) for i in sorted(items)], "item_id string")
    graph = ctx.lake.read(NEIGHBORS).join(wanted, "item_id", "left_semi")
    if ctx.lake.exists(DEDUP_CLUSTERS):
        graph = without_duplicates(graph, ctx.lake.read(DEDUP_CLUSTERS))
    rows = graph.select("item_id", "neighbor_id", "score").toPandas()
    rows = rows.sort_values(["item_id", "score", "neighbor_id"], ascending=[True, False, True])
    return {item: list(group.neighbor_id) for item, group in rows.groupby("item_id")}


def evaluate_item_recs(ctx: RunContext) -> pd.DataFrame:
    k, seed = ctx.settings.evaluate.k, ctx.settings.evaluate.seed
    split = leave_last_out(read_events(ctx))
    users = sorted(split.held_out)
    rankings = {
        "item-to-item (embeddings)": item_to_item_ranking(
            neighbor_lists(ctx, set(split.query.values())), split.query, split.seen, k
        ),
        "popularity": popularity_ranking(split.train, split.seen, users, k),
        "random": random_ranking(_live_items(ctx), split.seen, users, k, seed),
    }
    table = evaluate_rankings(rankings, split.held_out, k)
    _save(ctx, "recs_items", {"k": k, "results": table.round(4).to_dict("records")})
    return table


def _ranked_lists(recs: pd.DataFrame) -> dict[str, list[str]]:
    ordered = recs.sort_values(["user_id", "rank"])
    return {user: list(group.item_id) for user, group in ordered.groupby("user_id")}


def _blend_labels(cfg: RecsConfig, tuned: BlendChoice) -> dict[str, float]:
    """Table label -> blend weight, in table order (0 and 1 of the grid are the alone rows)."""
    labels = {"co-occurrence alone (w=1)": 1.0, "embeddings alone (w=0)": 0.0}
    labels.update({f"blend (w={w:g})": w for w in cfg.blend_grid if 0.0 < w < 1.0})
    if cfg.cooccurrence_weight is not None:
        labels[f"configured blend (w={cfg.cooccurrence_weight:g})"] = cfg.cooccurrence_weight
    labels[f"tuned blend (w={tuned.weight:g}, {tuned.source})"] = tuned.weight
    return labels


def _user_rankings(
    train: pd.DataFrame, held: dict, recs: pd.DataFrame, labels: dict[str, float], k: int
) -> dict[str, dict[str, list[str]]]:
    """Popularity over the training events, then each labelled weight's lists."""
    seen = {user: set(group) for user, group in train.groupby("user_id")["item_id"]}
    rankings = {"popularity": popularity_ranking(train, seen, sorted(held), k)}
    for label, weight in labels.items():
        rankings[label] = _ranked_lists(recs[recs.weight == weight])
    return rankings


def evaluate_user_recs(ctx: RunContext) -> pd.DataFrame:
    """Leave-last-out on the clean events, vectors and co-occurrence rebuilt from the training
    part only. Popularity, every grid weight and the weight tune_blend picks on a validation
    split of the training part alone (each user's last training event) are scored on the same
    held-out events, all weights in one pass."""
    settings = ctx.settings
    k = settings.evaluate.k
    split = hold_out_last(ctx.lake.read(EVENTS).select(*EVENT_COLUMNS))
    train, items = split.train.persist(), live_vectors(ctx).persist()
    clusters = ctx.lake.read(DEDUP_CLUSTERS) if ctx.lake.exists(DEDUP_CLUSTERS) else None
    recs_cfg = settings.recs.model_copy(update={"users_top_n": k})
    scoring = Scoring(items, clusters, settings.users, recs_cfg, task_threads(ctx.spark))
    try:
        staging_dir = settings.neighbors.staging_dir
        with ctx.workdir("evaluate", f"evaluate-{safe_run_id(ctx.run_id)}", staging_dir) as staging:
            tuned = tune_blend(train, scoring, staging / "validation")
            labels = _blend_labels(recs_cfg, tuned)
            weights = sorted(set(labels.values()))
            recs = recommend_from_events(train, scoring, staging / "test", weights).toPandas()
        held = {row.user_id: row.item_id for row in split.held.collect()}
        train_pairs = train.select("user_id", "item_id").toPandas()
    finally:
        train.unpersist()
        items.unpersist()
    table = evaluate_rankings(_user_rankings(train_pairs, held, recs, labels, k), held, k)
    report = {"k": k, "tuning": tuned.details(), "results": table.round(4).to_dict("records")}
    _save(ctx, "recs_users", report)
    return table


def _save(ctx: RunContext, name: str, report: dict) -> Path:
    path = ctx.reports_dir / "evaluate" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**report, "run_id": ctx.run_id}, indent=2, default=str))
    log.info("evaluate: %s report in %s", name, path)
    return path


def evaluate(ctx: RunContext) -> StageResult:
    cfg = ctx.settings.evaluate
    details: dict = {}
    if cfg.dedup_gold is not None:
        details["dedup"] = evaluate_dedup(ctx, cfg.dedup_gold)
    if cfg.recs_items:
        details["recs_items"] = evaluate_item_recs(ctx).round(4).to_dict("records")
    if cfg.recs_users:
        details["recs_users"] = evaluate_user_recs(ctx).round(4).to_dict("records")
    return StageResult(stage="evaluate", details=details)
