"""The publisher's decisions against the in-memory store, from a small embeddings table
written directly (no model, no Qdrant): full, unchanged, in-place and staged publishes,
pruning, rollback, and a store that fails half-way."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from pipelines.config import Settings
from pipelines.io.reports import write_report
from pipelines.lake import LakeConfig, open_lake
from pipelines.publish.config import PublishConfig
from pipelines.publish.publisher import publish_catalog, rollback
from pipelines.runtime.context import RunContext
from pipelines.tables import CATALOG_EMBEDDINGS
from pipelines.vectorstore import InMemoryStore, RetryPolicy, point_id
from pipelines.vectorstore.errors import VectorStoreUnavailable

RETRY = {"retry_attempts": 3, "retry_wait_s": 0, "retry_max_wait_s": 0}
N = 8


class _DyingStore(InMemoryStore):
    """Upserts into new collections are refused once ``dying`` is set."""

    dying = False

    def _upsert(self, collection, points):
        if self.dying:
            raise ConnectionError("connection refused")
        super()._upsert(collection, points)


@pytest.fixture
def ctx(spark, tmp_path):
    settings = Settings(lake=LakeConfig(root=tmp_path), publish=PublishConfig(**RETRY))
    store = _DyingStore(RetryPolicy.from_config(settings.publish))
    context = RunContext(settings, spark, open_lake(spark, settings.lake), "run-0", _store=store)
    yield context
    context.close()


def _write_validated(
    ctx: RunContext, changed: Collection[int] = (), deleted: Collection[int] = ()
) -> None:
    """Write the catalog embeddings (items in ``changed`` with a new text) and pass them."""
    rows = [
        (
            f"I{i}",
            [1.0, float(i) + (0.5 if i in changed else 0.0)],
            f"h{i}{'-new' if i in changed else ''}",
            f'{{"title": "item {i}"}}',
            "m@torch",
            ctx.run_id,
            i in deleted,
        )
        for i in range(N)
    ]
    frame = ctx.spark.createDataFrame(
        rows,
        "item_id string, vector array<float>, content_hash string, payload string,"
        " model_id string, run_id string, is_deleted boolean",
    )
    version = ctx.lake.write(frame, CATALOG_EMBEDDINGS, ctx.run_id)
    write_report(ctx.reports_dir, CATALOG_EMBEDDINGS, version, {"success": True})


def _publish(ctx: RunContext, run: int, **table):
    ctx.run_id = f"run-{run}"
    _write_validated(ctx, **table)
    return publish_catalog(ctx).details


def test_full_then_unchanged_then_in_place_then_staged(ctx, monkeypatch):
    store = ctx.store
    first = _publish(ctx, 1)
    assert first["mode"] == "full" and store.alias_target("catalog") == first["collection"]
    assert store.count("catalog") == N
    assert _publish(ctx, 2)["mode"] == "unchanged"

    monkeypatch.setattr(ctx.settings.publish, "inplace_max_points", 2)
    in_place = _publish(ctx, 3, changed={1}, deleted={7})
    assert in_place["mode"] == "incremental" and in_place["collection"] == first["collection"]
    assert in_place["changes"] == {"missing": 0, "stale": 1, "extra": 1}
    payload = store.payloads("catalog", [point_id("I1")])[point_id("I1")]
    assert payload["content_hash"] == "h1-new" and store.count("catalog") == N - 1

    staged = _publish(ctx, 4, changed={1, 2, 3, 4}, deleted={7})
    assert staged["mode"] == "staged" and store.alias_target("catalog") == staged["collection"]
    assert staged["changes"]["stale"] == 3 and store.count("catalog") == N - 1
    assert staged["dropped"] == [] and len(store.collections()) == 2

    back = rollback(ctx, "catalog")
    assert back.collection == first["collection"] == store.alias_target("catalog")


def test_old_collections_beyond_keep_collections_are_dropped(ctx):
    published = [_publish(ctx, run, changed={run})["collection"] for run in range(1, 4)]
    assert ctx.store.collections() == sorted(published[1:])
    assert ctx.store.alias_target("catalog") == published[-1]


def test_a_store_that_fails_mid_publish_leaves_the_alias(ctx):
    served = _publish(ctx, 1)["collection"]
    ctx.store.dying = True
    ctx.full_refresh = True
    with pytest.raises(VectorStoreUnavailable, match="upsert into catalog__m_torch__run-2"):
        _publish(ctx, 2)
    assert ctx.store.alias_target("catalog") == served and ctx.store.collections() == [served]
