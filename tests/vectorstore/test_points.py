"""Spark rows to point records: chunked fetches lose nothing, and the numpy fast path must
equal Arrow's own conversion."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipelines.config import Settings
from pipelines.lake import LakeConfig, open_lake
from pipelines.vectorstore import QdrantStore, RetryPolicy, point_id, points
from pipelines.vectorstore.points import prefetched, records, spark_tables, to_point, upsert_rows
from pipelines.vectorstore.targets import POINT_COLUMNS, catalog_table, users_table


def _table(vectors: list) -> pa.Table:
    n = len(vectors)
    return pa.table(
        {
            "key": [f"I{i}" for i in range(n)],
            "vector": pa.array(vectors, type=pa.list_(pa.float32())),
            "payload": ['{"title": "t"}'] * n,
        }
    )


def test_uniform_vectors_convert_like_to_pylist():
    table = _table([[0.5, -0.25, 1.0], [0.0, 2.0, -3.5]])
    rows = records(table)
    assert rows == table.to_pylist()
    assert all(type(x) is float for x in rows[0]["vector"])


@pytest.mark.parametrize("vectors", [[[1.0, 2.0], [1.0]], [[1.0, 2.0], None]])
def test_ragged_or_missing_vectors_fall_back_without_loss(vectors):
    table = _table(vectors)
    assert records(table) == table.to_pylist()


def test_point_payload_carries_hashes_and_ids():
    row = records(_table([[1.0, 0.0]]))[0] | {"content_hash": "c", "model_id": "m", "run_id": "r"}
    point = to_point(row, "user_id")
    assert point.payload["title"] == "t" and point.payload["user_id"] == "I0"
    assert point.id == point_id("I0")
    assert point.vector == [1.0, 0.0] and len(point.payload["payload_hash"]) == 64


def test_a_sliced_table_converts_only_its_rows():
    table = _table([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert records(table.slice(1, 2)) == table.slice(1, 2).to_pylist()


@pytest.mark.parametrize("chunk_rows", [3, 1_000])  # prefetched chunks, and one fetch
def test_upsert_rows_sends_every_row_once_however_it_is_chunked(
    spark, monkeypatch, tmp_path, chunk_rows
):
    monkeypatch.setattr(points, "CHUNK_ROWS", chunk_rows)
    rows = spark.createDataFrame(
        [(f"K{i}", [float(i), 1.0], "c", f'{{"n": {i}}}', "m", "r") for i in range(11)],
        "key string, vector array<float>, content_hash string, payload string,"
        " model_id string, run_id string",
    ).repartition(3)
    store = QdrantStore(RetryPolicy(), None, None, tmp_path / "qdrant")
    store.create_collection("c", 2)
    try:
        tables = spark_tables(rows, 11)
        assert upsert_rows(store, "c", tables, "item_id", size=2, total=11) == 11
        stored = dict(store.scroll("c", ["item_id", "n"]))
        vectors = store.vectors("c", [point_id(f"K{i}") for i in range(11)])
    finally:
        store.close()
    assert sorted(p["item_id"] for p in stored.values()) == sorted(f"K{i}" for i in range(11))
    for payload in stored.values():
        unit = [payload["n"], 1.0] / np.linalg.norm([payload["n"], 1.0])  # cosine: normalised
        assert np.allclose(vectors[point_id(payload["item_id"])], unit, atol=1e-6)


def test_prefetched_keeps_order_and_reraises_the_producers_error():
    def items():
        yield from (1, 2, 3)
        raise ValueError("fetch failed")

    seen = []
    with pytest.raises(ValueError, match="fetch failed"):
        for item in prefetched(items()):
            seen.append(item)
    assert seen == [1, 2, 3]


def test_arrow_points_read_the_same_live_rows_as_spark(spark, tmp_path):
    lake = open_lake(spark, LakeConfig(root=tmp_path))
    deleted = [False, True, None, False, False, True, False]  # a null flag is not live
    rows = spark.createDataFrame(
        [
            (f"I{i}", [float(i), 0.5], f"c{i}", f'{{"n": {i}}}', "m", "r", flag)
            for i, flag in enumerate(deleted)
        ],
        "item_id string, vector array<float>, content_hash string, payload string,"
        " model_id string, run_id string, is_deleted boolean",
    ).repartition(2)
    target = catalog_table(Settings())
    version = lake.write(rows, target.table, "run-1")

    tables = list(target.arrow_points(lake, version, batch_rows=2))
    assert all(t.num_rows <= 2 and t.column_names == POINT_COLUMNS for t in tables)
    from_arrow = sorted(
        (r["key"], tuple(r["vector"]), r["payload"]) for t in tables for r in records(t)
    )
    spark_rows = target.points(target.live(lake, version)).collect()
    assert from_arrow == sorted((r.key, tuple(r.vector), r.payload) for r in spark_rows)
    assert [key for key, *_ in from_arrow] == ["I0", "I3", "I4", "I6"]


def test_points_that_need_spark_have_no_arrow_read(spark, tmp_path):
    lake = open_lake(spark, LakeConfig(root=tmp_path))
    users = users_table(Settings())
    lake.write(
        spark.createDataFrame([("U1", [1.0])], "user_id string, vector array<float>"),
        users.table,
        "r",
    )
    assert users.arrow_points(lake, 0, batch_rows=10) is None
