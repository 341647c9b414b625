"""Item-item co-occurrence from user histories: how often two items share a user's recent
history, normalised by each item's own frequency (cosine of the binary user-item matrix)."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def recent_items(events: DataFrame, limit: int) -> DataFrame:
    """(user_id, item_id, last_at, recency): each user's ``limit`` most recent distinct items,
    recency 1 = the latest."""
    latest = events.groupBy("user_id", "item_id").agg(F.max("event_time").alias("last_at"))
    order = Window.partitionBy("user_id").orderBy(F.desc("last_at"), F.desc("item_id"))
    ranked = latest.withColumn("recency", F.row_number().over(order))
    return ranked.filter(F.col("recency") <= limit)


def cooccurrence(events: DataFrame, history_items: int, k: int) -> DataFrame:
    """(item_id, rank, neighbor_id, score): top-k co-occurring items per item."""
    history = recent_items(events, history_items).select("user_id", "item_id").persist()
    counts = history.groupBy("item_id").agg(F.count("*").alias("n"))
    other = history.select("user_id", F.col("item_id").alias("neighbor_id"))
    pairs = history.join(other, "user_id").filter(F.col("item_id") != F.col("neighbor_id"))
    together = pairs.groupBy("item_id", "neighbor_id").agg(F.count("*").alias("both"))
    n_a = counts.select("item_id", F.col("n").alias("n_a"))
    n_b = counts.select(F.col("item_id").alias("neighbor_id"), F.col("n").alias("n_b"))
    scored = together.join(n_a, "item_id").join(n_b, "neighbor_id")
    scored = scored.withColumn("score", (F.col("both") / F.sqrt(F.col("n_a") * F.col("n_b"))))
    order = Window.partitionBy("item_id").orderBy(F.desc("score"), "neighbor_id")
    ranked = scored.withColumn("rank", F.row_number().over(order)).filter(F.col("rank") <= k)
    return ranked.select("item_id", "rank", "neighbor_id", F.col("score").cast("float"))
