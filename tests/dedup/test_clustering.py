"""Clusters computed per component on the executors equal the single-machine rule's."""

from __future__ import annotations

import random

from pipelines.dedup.clustering import spark_clusters
from pipelines.methods.clusters import _new_id, cluster_rows


def _run(spark, matches, lengths, previous, strong=0.9):
    frames = (
        spark.createDataFrame(matches, "a string, b string, match_score double"),
        spark.createDataFrame(list(lengths.items()), "item_id string, text_length int"),
        spark.createDataFrame(list(previous.items()), "item_id string, cluster_id string"),
    )
    rows = spark_clusters(*frames, strong).collect()
    return {r.item_id: (r.cluster_id, r.is_canonical) for r in rows}


def _expected(matches, lengths, previous, strong=0.9):
    frame = cluster_rows(matches, strong, lengths, previous)
    return {r.item_id: (r.cluster_id, r.is_canonical) for r in frame.itertuples()}


def test_random_graphs_with_history_match_the_single_machine_rule(spark):
    rng = random.Random(7)
    items = [f"i{n:03d}" for n in range(80)]
    lengths = {item: rng.randrange(5, 40) for item in items}
    pairs = {tuple(sorted(rng.sample(items, 2))) for _ in range(70)}
    matches = [(a, b, rng.choice([0.5, 0.8, 0.95, 0.99])) for a, b in sorted(pairs)]
    # last run's clusters: random groups, so that splits and merges both occur
    previous = {item: f"dup-old{rng.randrange(12)}" for item in rng.sample(items, 50)}
    assert _run(spark, matches, lengths, previous) == _expected(matches, lengths, previous)


def test_a_new_id_taken_by_another_component_is_renamed(spark):
    # ("m", "n") is a new cluster: its id derives from "m", but that id is still held by
    # a previous cluster of x and y, in a component of its own
    held = _new_id("m", set())
    previous = {"x": held, "y": held}
    matches = [("m", "n", 0.99), ("x", "y", 0.99)]
    lengths = dict.fromkeys(["m", "n", "x", "y"], 10)
    ours = _run(spark, matches, lengths, previous)
    assert ours == _expected(matches, lengths, previous)
    assert ours["x"][0] == held and ours["m"][0] == f"{held}-2"


def test_no_matches_make_no_clusters(spark):
    assert _run(spark, [], {"a": 3}, {"a": "dup-1"}) == {}
