"""User vectors: the L2-normalised mean of the vectors of the items a user touched, each
weighted by its event type times an exponential time decay.

The decay is measured from the user's latest event: scaling all of a user's weights by one
factor leaves the normalised mean unchanged, so this equals decay from "now" without
underflowing for users whose events are years old.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.methods.config import UsersConfig

USER_SCHEMA = (
    "user_id string not null, vector array<float>, n_events int not null, last_event_at timestamp"
)
# a user's decayed sums (anchored at last_event_at): what later events add to exactly
SUMS_SCHEMA = (
    "user_id string not null, item_sum array<double>, text_sum array<double>,"
    " n_events int not null, last_event_at timestamp"
)
SECONDS_PER_DAY = 86_400.0


def decay_weights(type_weights: np.ndarray, seconds: np.ndarray, half_life_days: float):
    """type weight x 0.5 ** (days before the latest event / half-life)."""
    age_days = (seconds.max() - seconds) / SECONDS_PER_DAY
    return type_weights * np.power(0.5, age_days / half_life_days)


def weighted_unit_mean(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    mean = (weights[:, None] * vectors).sum(axis=0)
    norm = np.linalg.norm(mean)
    return (mean / norm if norm > 0 else mean).astype(np.float32)


def event_weight(event_type: Column, cfg: UsersConfig) -> Column:
    weight = F.lit(cfg.default_event_weight)
    for name, value in cfg.event_weights.items():
        weight = F.when(event_type == name, F.lit(value)).otherwise(weight)
    return weight.cast("double")


def blend_text(item_mean: np.ndarray, text_mean: np.ndarray | None, weight: float):
    """(1 - weight) x item mean + weight x text mean, renormalised; items alone without text."""
    if text_mean is None or weight == 0:
        return item_mean
    return weighted_unit_mean(np.stack([item_mean, text_mean]), np.array([1 - weight, weight]))


def _sums(events: pd.DataFrame, cfg: UsersConfig) -> dict:
    """One user's decayed sums, anchored at their latest event: a row of SUMS_SCHEMA. A
    row of ``events`` may stand for many events already summed (``n`` of them, at its time)."""
    times = pd.to_datetime(events["event_time"])
    seconds = (times - pd.Timestamp(0)).dt.total_seconds().to_numpy()
    weights = decay_weights(events["weight"].to_numpy(), seconds, cfg.half_life_days)
    vectors = np.stack(events["vector"].to_numpy()).astype(np.float64)
    has_text = events["text_vector"].notna().to_numpy()
    text_sum = None
    if has_text.any():
        texts = np.stack(events["text_vector"][has_text].to_numpy()).astype(np.float64)
        text_sum = (weights[has_text, None] * texts).sum(axis=0)
    return {
        "user_id": events["user_id"].iloc[0],
        "item_sum": (weights[:, None] * vectors).sum(axis=0),
        "text_sum": text_sum,
        "n_events": int(events["n"].sum()),
        "last_event_at": times.max(),
    }


def unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def _one_user(cfg: UsersConfig) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(events: pd.DataFrame) -> pd.DataFrame:
        sums = _sums(events, cfg)
        text = sums.pop("text_sum")
        vector = unit(sums.pop("item_sum"))
        vector = blend_text(vector, None if text is None else unit(text), cfg.text_weight)
        return pd.DataFrame([sums | {"vector": vector}])

    return run


def _one_sum(cfg: UsersConfig) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda events: pd.DataFrame([_sums(events, cfg)])


def _event_rows(
    events: DataFrame, items: DataFrame, cfg: UsersConfig, texts: DataFrame | None = None
) -> DataFrame:
    """user_id, event_time, weight, vector, text_vector, n (1) of the events on ``items``."""
    weighted = events.select(
        "user_id",
        "item_id",
        "event_time",
        event_weight(F.col("event_type"), cfg).alias("weight"),
        (F.col("text") if "text" in events.columns else F.lit(None).cast("string")).alias("text"),
    ).join(items.select("item_id", "vector"), "item_id")
    if texts is None:
        weighted = weighted.withColumn("text_vector", F.lit(None).cast("array<float>"))
    else:
        weighted = weighted.join(texts.select("text", "text_vector"), "text", "left")
    return weighted.select(
        "user_id", "event_time", "weight", "vector", "text_vector", F.lit(1).alias("n")
    )


def sums_as_events(sums: DataFrame) -> DataFrame:
    """Rows of SUMS_SCHEMA as weighted events: one per user, at its anchor, with weight 1,
    standing for ``n_events`` events (decaying a sum scales each of its terms alike)."""
    return sums.select(
        "user_id",
        F.col("last_event_at").alias("event_time"),
        F.lit(1.0).alias("weight"),
        F.col("item_sum").alias("vector"),
        F.col("text_sum").alias("text_vector"),
        F.col("n_events").alias("n"),
    )


def weighted_events(
    events: DataFrame,
    items: DataFrame,
    cfg: UsersConfig,
    texts: DataFrame | None = None,
    base: DataFrame | None = None,
) -> DataFrame:
    """user_id, event_time, weight, vector, text_vector, n of ``events`` (user_id, item_id,
    event_type, event_time[, text]) on ``items`` (item_id, vector), each standing for one
    event; ``texts`` (text, text_vector) adds the embedded event texts, and ``base`` (rows
    of SUMS_SCHEMA) one row per user standing for the sums of their earlier events."""
    weighted = _event_rows(events, items, cfg, texts)
    if base is None:
        return weighted
    doubles = [F.col(c).cast("array<double>").alias(c) for c in ("vector", "text_vector")]
    weighted = weighted.select("user_id", "event_time", "weight", *doubles, "n")
    return weighted.unionByName(sums_as_events(base))


def user_vectors(weighted: DataFrame, cfg: UsersConfig) -> DataFrame:
    """One vector per user of ``weighted_events`` (USER_SCHEMA); a user with a base row alone
    gets one too."""
    return weighted.groupBy("user_id").applyInPandas(_one_user(cfg), USER_SCHEMA)


def user_sums(weighted: DataFrame, cfg: UsersConfig) -> DataFrame:
    """The unnormalised sums (SUMS_SCHEMA) of ``weighted_events``, one row per user: what
    ``base`` takes."""
    return weighted.groupBy("user_id").applyInPandas(_one_sum(cfg), SUMS_SCHEMA)
