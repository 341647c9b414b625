"""Spark rows to point records: chunked fetches lose nothing, and the numpy fast path must
equal Arrow's own conversion."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipelines.publish import points
from pipelines.publish.config import PublishConfig
from pipelines.publish.points import prefetched, records, to_point, upsert_rows
from pipelines.publish.store import QdrantStore, point_id


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
    store = QdrantStore(PublishConfig(batch_size=2), None, None, tmp_path / "qdrant")
    store.create_collection("c", 2)
    try:
        assert upsert_rows(store, "c", rows, "item_id", size=2, total=11) == 11
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
