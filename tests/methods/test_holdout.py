"""Leave-last-out on Spark and hits counted by a join, on cases checkable by hand."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from pipelines.methods.holdout import hit_counts, hold_out_last

EVENTS = "user_id string, item_id string, event_type string, event_time timestamp"


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, 12)


def test_exactly_the_last_event_per_user_is_held_out(spark):
    rows = [
        ("A", "a1", "view", _at(1)),
        ("A", "a3", "view", _at(3)),  # A's last
        ("A", "a2", "view", _at(2)),
        ("B", "b1", "view", _at(5)),  # B's two latest share a time: one of them is held out
        ("B", "b9", "view", _at(5)),
        ("B", "b0", "view", _at(4)),
        ("C", "c1", "view", _at(1)),  # one event: kept for training, not scored
    ]
    split = hold_out_last(spark.createDataFrame(rows, EVENTS))
    held = dict(tuple(r) for r in split.held.collect())
    assert held.keys() == {"A", "B"} and held["A"] == "a3" and held["B"] in {"b1", "b9"}
    train = {(r.user_id, r.item_id) for r in split.train.collect()}
    everything = {(user, item) for user, item, _, _ in rows}
    assert train == everything - set(held.items()) and ("C", "c1") in train
    assert split.train.columns == ["user_id", "item_id", "event_type", "event_time"]
    again = hold_out_last(spark.createDataFrame(rows[::-1], EVENTS).repartition(3))
    assert dict(tuple(r) for r in again.held.collect()) == held  # the same whatever the order


def test_hits_count_held_items_ranked_within_k_per_weight(spark):
    held = spark.createDataFrame([("A", "x"), ("B", "y")], "user_id string, item_id string")
    recs = pd.DataFrame(
        [
            ("A", 1, "x", 0.0),  # hit at w=0
            ("B", 3, "y", 0.0),  # ranked 3 > k = 2: a miss
            ("A", 2, "x", 1.0),  # hit at w=1
            ("B", 1, "y", 1.0),  # hit at w=1
            ("C", 1, "x", 1.0),  # C has nothing held out
            ("A", 1, "z", 0.5),  # no hit at w=0.5: left out
        ],
        columns=["user_id", "rank", "item_id", "weight"],
    )
    assert hit_counts(spark.createDataFrame(recs), held, k=2) == {0.0: 1, 1.0: 2}
