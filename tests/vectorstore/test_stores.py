"""One body per behaviour, run against embedded Qdrant and the in-memory fake: what the fake
answers is what Qdrant answers, for every operation publishing and queries use."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from pipelines.vectorstore import InMemoryStore, Point, QdrantStore, RetryPolicy, point_id
from pipelines.vectorstore import qdrant as qdrant_module
from pipelines.vectorstore.errors import VectorStoreError

FAST = RetryPolicy(retry_attempts=2, retry_wait_s=0, retry_max_wait_s=0)


@pytest.fixture(params=["qdrant", "memory"])
def store(request, tmp_path, monkeypatch):
    monkeypatch.setattr(qdrant_module, "SCROLL_PAGE", 2)  # pages are exercised
    monkeypatch.setattr(InMemoryStore, "page_size", 2)
    if request.param == "memory":
        yield InMemoryStore(FAST)
        return
    opened = QdrantStore(FAST, None, None, tmp_path / "qdrant")
    yield opened
    opened.close()


def _point(key: str, vector: list[float], **payload) -> Point:
    return Point(point_id(key), vector, {"item_id": key, **payload})


def _keys(hits) -> list[str]:
    return [hit.payload["item_id"] for hit in hits]


def test_search_ranks_by_cosine_and_filters(store):
    store.create_collection("c", 2)
    angles = {"east": 0, "north_east": 45, "north": 90, "west": 180, "south": 270}
    points = [
        _point(k, [3 * math.cos(math.radians(a)), 3 * math.sin(math.radians(a))], side=k[0])
        for k, a in angles.items()
    ]
    store.upsert("c", points)
    hits = store.search("c", [10.0, 1.0], 4, {})
    assert _keys(hits) == ["east", "north_east", "north", "south"]
    expected = [math.cos(math.atan2(1, 10) - math.radians(angles[k])) for k in _keys(hits)]
    assert np.allclose([h.score for h in hits], expected, atol=1e-5)
    assert [h.id for h in hits] == [point_id(k) for k in _keys(hits)]
    assert _keys(store.search("c", [10.0, 1.0], 5, {"side": "n"})) == ["north_east", "north"]
    assert store.search("c", [1.0, 0.0], 3, {"side": "nobody"}) == []


def test_the_alias_moves_in_one_call_and_reads_follow_it(store):
    store.create_collection("blue", 2)
    store.create_collection("green", 2)
    store.upsert("blue", [_point("a", [1.0, 0.0])])
    store.upsert("green", [_point("a", [0.0, 1.0]), _point("b", [1.0, 1.0])])
    assert store.alias_target("catalog") is None
    store.point_alias("catalog", "blue")
    assert store.alias_target("catalog") == "blue" and store.count("catalog") == 1
    store.point_alias("catalog", "green")
    assert store.alias_target("catalog") == "green" and store.count("catalog") == 2
    assert store.vectors("catalog", [point_id("a")]) == store.vectors("green", [point_id("a")])
    assert _keys(store.search("catalog", [0.0, 1.0], 1, {})) == ["a"]
    assert store.collections() == ["blue", "green"]  # an alias is not a collection
    store.drop_collection("green")
    assert store.alias_target("catalog") is None and store.collections() == ["blue"]


def test_upsert_replaces_delete_skips_unknown_ids_and_scroll_pages(store):
    store.create_collection("c", 2)
    store.upsert("c", [_point(f"k{i}", [1.0, float(i)], n=i, extra="x") for i in range(5)])
    store.upsert("c", [_point("k1", [0.0, 1.0], n=10)])
    store.delete("c", [point_id("k0"), point_id("never")])
    assert store.count("c") == 4
    scrolled = dict(store.scroll("c", ["n", "missing"]))
    assert scrolled == {point_id(f"k{i}"): {"n": 10 if i == 1 else i} for i in range(1, 5)}
    assert store.payloads("c", [point_id("k1"), point_id("k0")]) == {
        point_id("k1"): {"item_id": "k1", "n": 10}
    }


def test_vectors_come_back_normalised_as_float32(store):
    store.create_collection("c", 3)
    store.upsert("c", [_point("a", [3.0, 4.0, 0.0])])
    [vector] = store.vectors("c", [point_id("a"), point_id("absent")]).values()
    assert vector == np.array([0.6, 0.8, 0.0], dtype=np.float32).tolist()


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.count("absent"),
        lambda s: s.create_collection("c", 2),
        lambda s: s.point_alias("catalog", "absent"),
        lambda s: s.upsert("c", [_point("a", [1.0, 2.0, 3.0])]),
    ],
    ids=["missing-collection", "existing-collection", "alias-to-nothing", "wrong-dimension"],
)
def test_a_rejected_call_is_a_store_error_naming_the_store(store, call):
    store.create_collection("c", 2)
    with pytest.raises(VectorStoreError, match=f"^{re.escape(store.description)}: .* failed: "):
        call(store)
