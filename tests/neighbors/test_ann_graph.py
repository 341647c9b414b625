"""The approximate (faiss) neighbour graph: its recall against brute force, the choice of
method, the recall check that fails a run before anything is written, and its settings."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.data import config_error, make_catalog
from helpers.pipeline_lake import PipelineLake
from helpers.vectors import brute_force, clustered_unit_vectors, item_ids

from pipelines.errors import PipelineError
from pipelines.io.reports import write_report
from pipelines.neighbors.config import NeighborsConfig
from pipelines.neighbors.errors import AnnRecallError
from pipelines.neighbors.graph import checked_recall, chosen_method, neighbor_graph
from pipelines.tables import CATALOG_EMBEDDINGS, NEIGHBORS
from pipelines.vectors.ann import recall_at_k
from pipelines.vectors.search import GRAPH_SCHEMA


def _frame(spark, vectors):
    rows = pd.DataFrame({"item_id": item_ids(len(vectors))})
    rows["vector"] = list(vectors)
    return spark.createDataFrame(rows).repartition(3)


@pytest.mark.slow
def test_ann_graph_finds_the_exact_neighbours_with_the_exact_schema(spark, tmp_path):
    vectors = clustered_unit_vectors(3000)
    cfg = NeighborsConfig(
        k=10, method="ann", ann_nlist=32, query_block_rows=500, key_block_rows=1000
    )
    graph = neighbor_graph(_frame(spark, vectors), cfg, tmp_path / "stage")
    assert graph.method == "ann" and graph.rows.schema == GRAPH_SCHEMA
    got = graph.rows.toPandas()
    assert not (got.item_id == got.neighbor_id).any()
    assert got.item_id.nunique() == 3000 and got.groupby("item_id").size().max() == 10
    assert recall_at_k(brute_force(vectors, 10), got) >= 0.95
    checked = checked_recall(graph, graph.rows, cfg)
    assert checked["ann_recall_at_k"] >= 0.95 and checked["ann_recall_sample"] == 1000
    assert checked["ann_nlist"] == 32 and checked["ann_nprobe"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("min_items, method", [(100, "ann"), (101, "exact")])
def test_auto_takes_ann_only_above_ann_min_items(spark, tmp_path, min_items, method):
    cfg = NeighborsConfig(k=5, ann_min_items=min_items)
    graph = neighbor_graph(_frame(spark, clustered_unit_vectors(101)), cfg, tmp_path / "stage")
    assert graph.method == method
    assert len(graph.rows.toPandas()) == 101 * 5


def test_method_choice():
    auto = NeighborsConfig()
    assert chosen_method(auto, 200_000) == "exact" and chosen_method(auto, 200_001) == "ann"
    assert chosen_method(NeighborsConfig(method="exact"), 10**7) == "exact"
    assert chosen_method(NeighborsConfig(method="ann"), 10) == "ann"
    assert chosen_method(NeighborsConfig(method="ann"), 0) == "exact"  # nothing to index


def _validated_lake(spark, folder, vectors, **neighbors) -> PipelineLake:
    """A lake whose validated catalog embeddings are ``vectors`` (no model run)."""
    lake = PipelineLake(spark, folder, make_catalog(1), neighbors=neighbors)
    rows = pd.DataFrame({"item_id": item_ids(len(vectors)), "is_deleted": False})
    rows["vector"] = list(vectors)
    version = lake.ctx.lake.write(spark.createDataFrame(rows), CATALOG_EMBEDDINGS, "given")
    write_report(lake.ctx.reports_dir, CATALOG_EMBEDDINGS, version, {"success": True})
    return lake


@pytest.mark.slow
def test_recall_below_the_minimum_fails_the_stage_and_writes_nothing(spark, tmp_path):
    lake = _validated_lake(spark, tmp_path, clustered_unit_vectors(1500), method="ann", k=10)
    [first] = lake.run("neighbors")
    assert first.details["method"] == "ann" and first.details["ann_recall_sample"] == 1000
    assert first.details["ann_recall_at_k"] >= 0.95
    before = lake.ctx.lake.read(NEIGHBORS).toPandas()
    # one probe among 64 lists, as if ann_nprobe had been set for a far smaller catalog
    lake.settings.neighbors = NeighborsConfig(method="ann", k=10, ann_nlist=64, ann_nprobe=1)
    with pytest.raises(AnnRecallError) as failed:
        lake.run("neighbors")
    message = str(failed.value)
    assert "ann_min_recall = 0.95" in message and "ann_nprobe (now 1" in message
    assert isinstance(failed.value, PipelineError) and not failed.value.transient
    assert lake.ctx.lake.version(NEIGHBORS) == first.table_version
    after = lake.ctx.lake.read(NEIGHBORS).toPandas()
    pd.testing.assert_frame_equal(_sorted(after), _sorted(before))


def _sorted(graph: pd.DataFrame) -> pd.DataFrame:
    return graph.sort_values(["item_id", "rank"]).reset_index(drop=True)


@pytest.mark.parametrize(
    "line, key",
    [
        ('method = "fast"', "neighbors.method"),
        ("ann_min_recall = 1.5", "neighbors.ann_min_recall"),
        ("ann_min_recall = 0", "neighbors.ann_min_recall"),
        ("ann_min_items = -1", "neighbors.ann_min_items"),
        ("ann_nlist = 0", "neighbors.ann_nlist"),
        ("ann_nprobe = 0", "neighbors.ann_nprobe"),
        ("ann_nlist = 16\nann_nprobe = 32", "neighbors.ann_nprobe (32) must be <= neighbors"),
    ],
)
def test_bad_ann_settings_name_the_key(tmp_path, line, key):
    assert key in config_error(tmp_path, f"[neighbors]\n{line}\n")


def test_ann_defaults():
    cfg = NeighborsConfig()
    assert (cfg.method, cfg.ann_min_items, cfg.ann_min_recall) == ("auto", 200_000, 0.95)
    assert cfg.ann_nlist is None and cfg.ann_nprobe is None
