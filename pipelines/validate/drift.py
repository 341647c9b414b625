"""Drift of a table version against the version last published: centroid shift and the
stability of a fixed sentinel sample's nearest neighbours."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.io.workdirs import stage_workdir
from pipelines.validate.config import ValidateConfig
from pipelines.vectors.search import stage_keys, top_k


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


def _neighbours(live: DataFrame, ids: list[str], k: int, staging: Path) -> dict[str, list[str]]:
    """Each sentinel's k nearest rows of ``live`` (id, vector), by exact search."""
    vectors = live.withColumnRenamed("id", "item_id")
    with stage_workdir(staging, "sentinels") as folder:
        blocks = stage_keys(vectors, folder, block_rows=16384)
        queries = vectors.filter(F.col("item_id").isin(ids))
        found = top_k(queries, blocks, k, len(ids), total=len(ids)).collect()
    result: dict[str, list[str]] = {i: [] for i in ids}
    for row in sorted(found, key=lambda r: (r.item_id, r.rank)):
        result[row.item_id].append(row.neighbor_id)
    return result


def stability(current: DataFrame, previous: DataFrame, cfg: ValidateConfig, staging: Path) -> float:
    """``current`` and ``previous`` are (id, vector) rows; key blocks go under ``staging``."""
    ids = _sentinels(current, previous, cfg.sentinels)
    if not ids:
        return 1.0
    k = cfg.sentinel_k
    now = _neighbours(current, ids, k, staging)
    before = _neighbours(previous, ids, k, staging)
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
    staging: Path | None,
    key: str = "item_id",
) -> DriftReport:
    """``current`` and ``previous`` are live rows (``key``, vector, model_id)."""
    if previous is None:
        return DriftReport("none", "no published version yet: nothing to compare with")
    if staging is None:
        raise ValueError("comparing two versions needs a staging folder for their key blocks")
    old_models = {r.model_id for r in previous.select("model_id").distinct().collect()}
    new_models = {r.model_id for r in current.select("model_id").distinct().collect()}
    if old_models != new_models:
        message = (
            f"model changed from {sorted(old_models)} to {sorted(new_models)}: drift is expected"
        )
        return DriftReport("expected", message, previous_version)
    shift = _cosine_distance(centroid(previous), centroid(current))
    ids = [F.col(key).alias("id"), "vector"]
    stable = stability(current.select(*ids), previous.select(*ids), cfg, staging)
    status = _status(shift, stable, cfg)
    message = (
        f"centroid shift {shift:.4f} (warn > {cfg.centroid_shift_warn}, fail >"
        f" {cfg.centroid_shift_fail}); sentinel stability {stable:.3f} (warn <"
        f" {cfg.stability_warn}, fail < {cfg.stability_fail})"
    )
    return DriftReport(status, message, previous_version, round(shift, 6), round(stable, 4))
