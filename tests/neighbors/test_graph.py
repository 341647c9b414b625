"""The blocked neighbour graph against brute force, and the outlier rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.neighbors.config import NeighborsConfig
from pipelines.neighbors.graph import neighbor_graph, outliers
from pipelines.vectors.blocks import RunningTopK


def _unit_vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _frame(spark, vectors: np.ndarray):
    rows = pd.DataFrame({"item_id": [f"I{i:03d}" for i in range(len(vectors))]})
    rows["vector"] = list(vectors)
    return spark.createDataFrame(rows).repartition(3)


@pytest.mark.parametrize("query_rows, key_rows", [(7, 11), (64, 1000)])
def test_graph_equals_brute_force(spark, tmp_path, query_rows, key_rows):
    vectors, k = _unit_vectors(101), 5
    cfg = NeighborsConfig(k=k, query_block_rows=query_rows, key_block_rows=key_rows)
    graph = neighbor_graph(_frame(spark, vectors), cfg, tmp_path / "stage")
    got = graph.rows.toPandas().sort_values(["item_id", "rank"])
    assert graph.method == "exact"  # "auto" below ann_min_items
    assert sum(b.rows for b in graph.blocks) == 101 and len(got) == 101 * k
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)  # an item is never its own neighbour
    expected = np.argsort(-scores, axis=1)[:, :k]
    for i, (_, rows) in enumerate(got.groupby("item_id", sort=True)):
        assert list(rows["rank"]) == list(range(1, k + 1))
        assert [int(n[1:]) for n in rows.neighbor_id] == list(expected[i])
        np.testing.assert_allclose(rows.score, scores[i, expected[i]], atol=1e-5)


def test_k_larger_than_catalog_returns_every_other_item(spark, tmp_path):
    cfg = NeighborsConfig(k=10, query_block_rows=2, key_block_rows=2)
    graph = neighbor_graph(_frame(spark, _unit_vectors(4)), cfg, tmp_path / "stage")
    got = graph.rows.toPandas()
    assert got.groupby("item_id").size().tolist() == [3, 3, 3, 3]
    assert not (got.item_id == got.neighbor_id).any()


def test_running_top_k_keeps_the_best_across_blocks():
    best = RunningTopK.empty(rows=1, k=2)
    best.merge(0, np.array([[0.1, 0.9, 0.3]], dtype=np.float32))
    best.merge(1, np.array([[0.5, 0.95]], dtype=np.float32))
    np.testing.assert_allclose(best.scores, [[0.95, 0.9]])
    assert best.blocks.tolist() == [[1, 0]] and best.columns.tolist() == [[1, 1]]


def test_outliers_are_far_below_the_typical_best_score(spark):
    best = [0.90, 0.91, 0.92, 0.89, 0.90, 0.93, 0.91, 0.30]
    rows = pd.DataFrame(
        {"item_id": [f"I{i}" for i in range(8)], "rank": 1, "neighbor_id": "x", "score": best}
    )
    found = outliers(spark.createDataFrame(rows), mads=4.0).toPandas()
    assert list(found.item_id) == ["I7"]
    assert found.threshold.iloc[0] < 0.89
