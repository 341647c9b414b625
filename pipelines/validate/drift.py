"""Drift of a table version against the version last published: centroid shift and the
stability of a fixed sentinel sample's nearest neighbours."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.io.workdirs import stage_workdir
from pipelines.validate.config import ValidateConfig
from pipelines.vectors.search import stage_keys, top_k


@dataclass
class DriftReport:
    status: str  # none | ok | warn | fail | expected | accepted | skipped
    message: str
    previous_version: int | None = None
    centroid_shift: float | None = None
    stability: float | None = None
    accepted_by: str | None = None  # who let a failed check pass, on purpose
    accepted_at: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def accepted(self, by: str, at: datetime) -> DriftReport:
        """This failed check, let pass by ``by``."""
        message = f"{self.message}; accepted by {by} at {at.isoformat()}"
        return replace(self, status="accepted", message=message, accepted_by=by,
                       accepted_at=at.isoformat())  # fmt: skip


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


def _expected_change(
    current: DataFrame, previous: DataFrame, templates: tuple[str | None, str | None]
) -> str | None:
    """What changed on purpose between the versions, so that their vectors differ: the model
    or the text template (unknown for a version validated before templates were recorded)."""
    old_models = {r.model_id for r in previous.select("model_id").distinct().collect()}
    new_models = {r.model_id for r in current.select("model_id").distinct().collect()}
    if old_models != new_models:
        return f"model changed from {sorted(old_models)} to {sorted(new_models)}"
    old_template, new_template = templates
    if old_template is not None and old_template != new_template:
        return f"text_template changed from {old_template!r} to {new_template!r}"
    return None


def check_drift(
    current: DataFrame,
    previous: DataFrame | None,
    previous_version: int | None,
    cfg: ValidateConfig,
    staging: Path | None,
    key: str = "item_id",
    templates: tuple[str | None, str | None] = (None, None),
) -> DriftReport:
    """``current`` and ``previous`` are live rows (``key``, vector, model_id); ``templates``
    the text templates the previous and the current version were embedded with."""
    if previous is None:
        return DriftReport("none", "no published version yet: nothing to compare with")
    if staging is None:
        raise ValueError("comparing two versions needs a staging folder for their key blocks")
    change = _expected_change(current, previous, templates)
    if change is not None:
        return DriftReport("expected", f"{change}: drift is expected", previous_version)
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
