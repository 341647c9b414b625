"""Drift of a table version against the version last published: centroid shift and the
stability of a fixed sentinel sample's nearest neighbours."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.validate.config import ValidateConfig
from pipelines.vectors.topk import top_k_for_queries


@dataclass
class DriftReport:
    status: str  # none | ok | warn | fail | expected
    message: str
    previous_version: int | None = None
    centroid_shift: float | None = None
    stability: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def skipped_drift() -> DriftReport:
    return DriftReport("skipped", "the suite failed: drift is not measured on a broken table")


def centroid(live: DataFrame) -> np.ndarray:
    means = live.select(F.posexplode("vector")).groupBy("pos").agg(F.avg("col").alias("mean"))
    ordered = sorted(means.collect())
    return np.array([row["mean"] for row in ordered], dtype=np.float64)


def _cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(1.0 - a @ b / denominator) if denominator else 1.0


def _sentinels(current: DataFrame, previous: DataFrame, n: int) -> list[str]:
    """Ids live in both versions with the smallest hash: the same sample run after run."""
    both = current.select("id").join(previous.select("id"), "id")
    picked = both.orderBy(F.xxhash64("id"), "id").limit(n)
    return [row.id for row in picked.collect()]


def _query_vectors(live: DataFrame, ids: list[str]) -> np.ndarray:
    rows = {r.id: r.vector for r in live.filter(F.col("id").isin(ids)).collect()}
    return np.array([rows[i] for i in ids], dtype=np.float32)


def stability(current: DataFrame, previous: DataFrame, cfg: ValidateConfig) -> float:
    """``current`` and ``previous`` are (id, vector) rows."""
    ids = _sentinels(current, previous, cfg.sentinels)
    if not ids:
        return 1.0
    k = cfg.sentinel_k

    def neighbours(live: DataFrame) -> dict[str, list[str]]:
        vectors = live.withColumnRenamed("id", "item_id")
        return top_k_for_queries(vectors, ids, _query_vectors(live, ids), k)

    now, before = neighbours(current), neighbours(previous)
    stable = [len(set(now[i]) & set(before[i])) * 2 >= min(k, len(before[i])) for i in ids]
    return float(np.mean(stable))


def _status(shift: float, stable: float, cfg: ValidateConfig) -> str:
    if shift > cfg.centroid_shift_fail or stable < cfg.stability_fail:
        return "fail"
    if shift > cfg.centroid_shift_warn or stable < cfg.stability_warn:
        return "warn"
    return "ok"


def check_drift(
    current: DataFrame,
    previous: DataFrame | None,
    previous_version: int | None,
    cfg: ValidateConfig,
    key: str = "item_id",
) -> DriftReport:
    """``current`` and ``previous`` are live rows (``key``, vector, model_id)."""
    if previous is None:
        return DriftReport("none", "no published version yet: nothing to compare with")
    old_models = {r.model_id for r in previous.select("model_id").distinct().collect()}
    new_models = {r.model_id for r in current.select("model_id").distinct().collect()}
    if old_models != new_models:
        message = (
            f"model changed from {sorted(old_models)} to {sorted(new_models)}: drift is expected"
        )
        return DriftReport("expected", message, previous_version)
    shift = _cosine_distance(centroid(previous), centroid(current))
    ids = [F.col(key).alias("id"), "vector"]
    stable = stability(current.select(*ids), previous.select(*ids), cfg)
    status = _status(shift, stable, cfg)
    message = (
        f"centroid shift {shift:.4f} (warn > {cfg.centroid_shift_warn}, fail >"
        f" {cfg.centroid_shift_fail}); sentinel stability {stable:.3f} (warn <"
        f" {cfg.stability_warn}, fail < {cfg.stability_fail})"
    )
    return DriftReport(status, message, previous_version, round(shift, 6), round(stable, 4))
