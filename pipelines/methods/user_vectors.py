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


def _one_user(cfg: UsersConfig) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(events: pd.DataFrame) -> pd.DataFrame:
        times = pd.to_datetime(events["event_time"])
        seconds = (times - pd.Timestamp(0)).dt.total_seconds().to_numpy()
        weights = decay_weights(events["weight"].to_numpy(), seconds, cfg.half_life_days)
        vectors = np.stack(events["vector"].to_numpy()).astype(np.float64)
        vector = weighted_unit_mean(vectors, weights)
        has_text = events["text_vector"].notna().to_numpy()
        if has_text.any():
            texts = np.stack(events["text_vector"][has_text].to_numpy()).astype(np.float64)
            text_mean = weighted_unit_mean(texts, weights[has_text])
            vector = blend_text(vector, text_mean, cfg.text_weight)
        return pd.DataFrame(
            {
                "user_id": [events["user_id"].iloc[0]],
                "vector": [vector],
                "n_events": [len(events)],
                "last_event_at": [times.max()],
            }
        )

    return run


def user_vectors(
    events: DataFrame, items: DataFrame, cfg: UsersConfig, texts: DataFrame | None = None
) -> DataFrame:
    """One row per user of ``events`` (user_id, item_id, event_type, event_time[, text])
    whose items are in ``items`` (item_id, vector); ``texts`` (text, text_vector) blends in
    the embedded event texts."""
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
    weighted = weighted.drop("text")
    return weighted.groupBy("user_id").applyInPandas(_one_user(cfg), USER_SCHEMA)
