"""Connected components on the executors agree with scipy's on the driver."""

from __future__ import annotations

import random

import pytest

from pipelines.methods.components import components
from pipelines.methods.spark_components import connected_components


def _spark_labels(spark, edges):
    frame = spark.createDataFrame(edges, "u string, v string")
    return {r.node: r.component for r in connected_components(frame).collect()}


def _same_partition(left: dict, right: dict) -> bool:
    def blocks(labels):
        groups: dict = {}
        for node, label in labels.items():
            groups.setdefault(label, set()).add(node)
        return sorted(sorted(g) for g in groups.values())

    return blocks(left) == blocks(right)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_graphs_match_scipy(spark, seed):
    rng = random.Random(seed)
    nodes = [f"n{i:03d}" for i in range(120)]
    edges = [tuple(rng.sample(nodes, 2)) for _ in range(90)]
    ours = _spark_labels(spark, edges)
    used = sorted({n for e in edges for n in e})
    assert _same_partition(ours, components(used, edges))
    for node, label in ours.items():  # named by the smallest member
        assert label == min(n for n, lab in ours.items() if lab == label) and label <= node


def test_a_long_chain_is_one_component(spark):
    nodes = [f"c{i:04d}" for i in range(300)]
    random.Random(0).shuffle(nodes)
    edges = list(zip(nodes, nodes[1:], strict=False))
    labels = _spark_labels(spark, edges)
    assert set(labels.values()) == {min(nodes)} and len(labels) == 300


def test_self_loops_and_repeated_edges(spark):
    labels = _spark_labels(spark, [("a", "b"), ("b", "a"), ("a", "b"), ("c", "d"), ("e", "e")])
    assert labels == {"a": "a", "b": "a", "c": "c", "d": "c"}
