"""What `pipelines query`, `similar` and `recommend` show: the payload's titles whatever the
settings name, and, where nothing is served, the titles the lake holds."""

from __future__ import annotations

import json

import pytest

from pipelines.cli.client import CatalogClient, Result, payload_fields
from pipelines.lake.arrow import table_dataset
from pipelines.vectorstore import InMemoryStore

INTERNAL = {"item_id": "P1", "content_hash": "h", "payload_hash": "p", "model_id": "m@onnx",
            "run_id": "r"}  # fmt: skip


def test_payload_fields_are_the_configured_ones_carried_else_all_carried():
    results = [Result("P1", 0.9, {**INTERNAL, "title": "Rain Jacket", "brand": "Fjeld"})]
    assert payload_fields(results, []) == ["title", "brand"]  # built-in defaults name none
    assert payload_fields(results, ["brand", "price"]) == ["brand"]
    assert payload_fields(results, ["price"]) == ["title", "brand"]  # another data set's
    assert payload_fields([Result("P1", 0.9, {})], ["title"]) == []


@pytest.mark.slow
def test_recommend_takes_titles_from_the_lake_when_nothing_is_served(report_lake):
    settings = report_lake.settings
    catalog = table_dataset(settings.lake.root / "embeddings/catalog").to_table().to_pandas()
    live = catalog[~catalog.is_deleted]
    titles = {i: json.loads(p)["title"] for i, p in zip(live.item_id, live.payload, strict=True)}
    recs = table_dataset(settings.lake.root / "recs/user_to_item").to_table().to_pandas()
    top = recs[recs["rank"] <= 5].sort_values(["user_id", "rank"]).groupby("user_id").item_id
    user, given = next((u, list(i)) for u, i in top if set(i) <= set(titles))

    client = CatalogClient(InMemoryStore(), settings)  # no alias: nothing published there
    results = client.recommend(user, k=5)
    assert [r.item_id for r in results] == given
    assert [r.payload["title"] for r in results] == [titles[i] for i in given]
    assert payload_fields(results, []) == ["title", "brand", "category", "price"]
