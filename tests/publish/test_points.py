"""Arrow chunks to point records: the numpy fast path must equal Arrow's own conversion."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipelines.publish.points import records, to_point
from pipelines.publish.store import point_id


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
