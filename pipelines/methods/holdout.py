"""Leave-last-out on Spark: each user's last event held out, and the hits of ranked lists on
the held-out items counted by a join, so only one number per list set reaches the driver."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

# what the split, user vectors and co-occurrence read of an event
EVENT_COLUMNS = ("user_id", "item_id", "event_type", "event_time")


@dataclass(frozen=True)
class HeldOut:
    train: DataFrame  # the events minus the held-out ones, same columns
    held: DataFrame  # user_id, item_id: one row per user with two or more events


def hold_out_last(events: DataFrame) -> HeldOut:
    """Hold out each user's last event by event_time. A user with one event keeps it in
    train and is not scored."""
    user = Window.partitionBy("user_id")
    # Equal times (common: many ratings share a second) go by a hash of user and item: the
    # same events on every run, and unlike the item id's own order, no bias to old items.
    tie = F.xxhash64("user_id", "item_id")
    latest = user.orderBy(F.desc("event_time"), F.desc(tie), F.desc("item_id"))
    from_end = F.row_number().over(latest)
    ranked = events.withColumn("_from_end", from_end).withColumn("_n", F.count("*").over(user))
    last = (F.col("_from_end") == 1) & (F.col("_n") >= 2)
    return HeldOut(
        train=ranked.filter(~last).drop("_from_end", "_n"),
        held=ranked.filter(last).select("user_id", "item_id"),
    )


def hit_counts(recs: DataFrame, held: DataFrame, k: int, by: str = "weight") -> dict:
    """Per value of ``by`` in ``recs`` (user_id, rank, item_id, ``by``): the held-out users
    whose item is ranked at most ``k``. Values without a hit are left out."""
    top = recs.filter(F.col("rank") <= k)
    hits = top.join(held, ["user_id", "item_id"]).groupBy(by).count()
    return {row[by]: row["count"] for row in hits.collect()}
