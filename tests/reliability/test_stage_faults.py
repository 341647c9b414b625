"""Bad sources and half-done runs through the real stages: nothing lost, nothing half-served."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import ALL, build_golden
from pyspark.sql import functions as F

from pipelines.embed.errors import MassDeleteError
from pipelines.io.errors import SourceError
from pipelines.runtime.reads import current_pairs
from pipelines.tables import (
    CATALOG_EMBEDDINGS,
    CATALOG_QUARANTINE,
    DEDUP_CLUSTERS,
    EXPECTED_LIVE_ROWS,
)
from pipelines.validate.errors import ValidationFailed
from pipelines.vectorstore.base import point_id

pytestmark = pytest.mark.slow
N = 30


@pytest.fixture(scope="module")
def golden(spark, tmp_path_factory):
    return build_golden(spark, tmp_path_factory.mktemp("golden"), N)


@pytest.fixture
def lake(golden, tmp_path):
    copy = golden.copy_to(tmp_path / "lake")
    yield copy
    copy.ctx.close()


def _live(lake, version=None) -> pd.DataFrame:
    rows = lake.ctx.lake.read(CATALOG_EMBEDDINGS, version).filter(~F.col("is_deleted"))
    return rows.toPandas().set_index("item_id")


def _reasons(lake) -> list[str]:
    return sorted(r.reason for r in lake.ctx.lake.read(CATALOG_QUARANTINE).collect())


@pytest.mark.scenario(
    "An exact copy of an existing row added to the source",
    "the item is kept once, unchanged; the copy goes to quarantine as duplicate_row",
)
def test_an_exact_copy_of_a_row_counts_once(lake):
    before = _live(lake)
    catalog = make_catalog(N)
    lake.write_source(pd.concat([catalog, catalog.iloc[[4]]]))
    embed, validate, publish = lake.run(*ALL)
    assert (embed.rows_read, embed.skipped, embed.quarantined, embed.tombstoned) == (N + 1, N, 1, 0)
    assert _reasons(lake) == ["duplicate_row"]
    assert list(_live(lake).loc["I0005", "vector"]) == list(before.loc["I0005", "vector"])
    assert lake.store.count("catalog") == N and validate.details["drift"] != "fail"


@pytest.mark.scenario(
    "Two different rows with the id of a live item",
    "both go to quarantine as duplicate_id; the item keeps its last good version",
)
def test_conflicting_rows_of_a_live_id_keep_its_last_good_version(lake):
    before = _live(lake)
    catalog = make_catalog(N)
    impostor = catalog.iloc[[6]].assign(title="Something else entirely")
    lake.write_source(pd.concat([catalog, impostor]))
    embed, _, _ = lake.run(*ALL)
    assert embed.tombstoned == 0 and embed.details["held"] == 1
    assert _reasons(lake) == ["duplicate_id", "duplicate_id"]
    after = _live(lake)
    assert (
        len(after) == N
        and after.loc["I0007", "content_hash"] == before.loc["I0007", "content_hash"]
    )
    assert point_id("I0007") in {pid for pid, _ in lake.store.scroll("catalog", [])}


@pytest.mark.scenario(
    "A header-only source over a live table",
    "refused by the mass-delete guard (exit 2); every table and the alias unchanged",
)
def test_an_empty_source_does_not_tombstone_the_catalog(lake):
    versions = [lake.ctx.lake.version(t) for t in (CATALOG_EMBEDDINGS, CATALOG_QUARANTINE)]
    lake.write_source(make_catalog(N).iloc[0:0])
    with pytest.raises(MassDeleteError, match=rf"tombstone {N} of {N} live items.*--allow-mass"):
        lake.run("embed-catalog")
    assert [lake.ctx.lake.version(t) for t in (CATALOG_EMBEDDINGS, CATALOG_QUARANTINE)] == versions


@pytest.mark.scenario(
    "A truncated source (a third of the rows)",
    "refused unless --allow-mass-delete; with it, the missing items become tombstones",
)
def test_a_truncated_source_needs_an_explicit_mass_delete(lake):
    version = lake.ctx.lake.version(CATALOG_EMBEDDINGS)
    lake.write_source(make_catalog(N // 3))
    with pytest.raises(MassDeleteError, match="max_delete_fraction = 0.2"):
        lake.run("embed-catalog")
    assert lake.ctx.lake.version(CATALOG_EMBEDDINGS) == version
    lake.ctx.allow_mass_delete = True
    [embed] = lake.run("embed-catalog")
    assert embed.tombstoned == N - N // 3 and len(_live(lake)) == N // 3


def test_a_first_load_of_an_empty_source_fails_naming_it(spark, tmp_path):
    from helpers.pipeline_lake import PipelineLake

    empty = PipelineLake(spark, tmp_path, make_catalog(3).iloc[0:0])
    with pytest.raises(SourceError, match=r"catalog.csv has no readable rows"):
        empty.run("embed-catalog")
    assert not empty.ctx.lake.exists(CATALOG_EMBEDDINGS)


@pytest.mark.scenario(
    "A new version fails validation, then downstream stages run",
    "neighbors, dedup and recs read the last validated version, not the failed one",
)
def test_downstream_stages_read_the_last_validated_version(lake):
    validated = lake.ctx.lake.version(CATALOG_EMBEDDINGS)
    table = lake.ctx.lake.read(CATALOG_EMBEDDINGS)
    zero = F.when(F.col("item_id") == "I0003", F.array_repeat(F.lit(0.0).cast("float"), 384))
    broken = table.withColumn("vector", zero.otherwise(F.col("vector")))
    lake.rewrite(broken.localCheckpoint(), CATALOG_EMBEDDINGS, "broken")
    with pytest.raises(ValidationFailed, match="is_zero"):
        lake.run("validate-catalog")
    [neighbors] = lake.run("neighbors")
    assert neighbors.details["embeddings_version"] == validated
    graph = lake.ctx.lake.read("neighbors/catalog")
    zero_scores = graph.filter((F.col("item_id") == "I0003") & (F.col("score") == 0)).count()
    assert zero_scores == 0


@pytest.mark.scenario(
    "The vector store fails half-way through an incremental publish",
    "the alias still serves the previous version whole; the re-run moves it to the new one",
)
def test_a_failed_incremental_publish_leaves_the_served_version_whole(lake, monkeypatch):
    served = lake.alias_target
    old_hashes = _point_hashes(lake, served)
    catalog = make_catalog(N)
    catalog.loc[catalog.index < 12, "title"] = catalog.title + " (2027 edition)"
    lake.write_source(catalog)
    lake.run("embed-catalog", "validate-catalog")
    upserts = []
    store_type = type(lake.store)
    real_upsert = store_type.upsert

    def failing_upsert(self, collection, points):
        upserts.append(len(points))
        if len(upserts) > 1:
            raise RuntimeError("store died mid-publish")
        real_upsert(self, collection, points)

    monkeypatch.setattr(store_type, "upsert", failing_upsert)
    monkeypatch.setattr(lake.settings.publish, "batch_size", 4)
    with pytest.raises(Exception, match="store died"):
        lake.run("publish-catalog")
    assert lake.alias_target == served and _point_hashes(lake, served) == old_hashes
    monkeypatch.setattr(store_type, "upsert", real_upsert)
    [published, reconciled] = lake.run("publish-catalog", "reconcile-catalog")
    assert published.details["mode"] == "staged" and lake.alias_target != served
    assert reconciled.details["after"] == {"missing": 0, "stale": 0, "extra": 0}


def _point_hashes(lake, collection) -> dict[str, str]:
    return {pid: p["content_hash"] for pid, p in lake.store.scroll(collection, ["content_hash"])}


@pytest.mark.scenario(
    "dedup dies between its pairs and clusters commits",
    "readers get the pairs of the run that wrote the current clusters",
)
def test_pairs_are_read_from_the_run_that_wrote_the_clusters(lake, monkeypatch):
    lake.run("neighbors", "dedup")
    clusters_run = lake.ctx.lake.history(DEDUP_CLUSTERS)[0].run_id

    def die(name):
        if name == "dedup.between_commits":
            raise KeyboardInterrupt("killed between the commits")

    monkeypatch.setattr("pipelines.dedup.stage.crash_point", die)
    with pytest.raises(KeyboardInterrupt):
        lake.run("dedup")
    assert lake.ctx.lake.history(DEDUP_CLUSTERS)[0].run_id == clusters_run
    runs = {r.run_id for r in current_pairs(lake.ctx.lake).select("run_id").distinct().collect()}
    assert runs == {clusters_run}


def test_validation_checks_the_count_embed_recorded(lake):
    engine = lake.ctx.lake
    recorded = engine.commit_metadata(CATALOG_EMBEDDINGS, engine.version(CATALOG_EMBEDDINGS))
    assert int(recorded[EXPECTED_LIVE_ROWS]) == len(_live(lake))
    lost_one = engine.read(CATALOG_EMBEDDINGS).filter(F.col("item_id") != "I0003")
    lake.rewrite(lost_one.localCheckpoint(), CATALOG_EMBEDDINGS, "lossy")
    with pytest.raises(ValidationFailed, match="ExpectTableRowCountToEqual|row_count"):
        lake.run("validate-catalog")


def test_a_version_without_a_recorded_count_fails_validation_naming_the_fix(lake):
    engine = lake.ctx.lake
    engine.write(engine.read(CATALOG_EMBEDDINGS).localCheckpoint(), CATALOG_EMBEDDINGS, "other")
    with pytest.raises(ValidationFailed, match="records no expected_live_rows.*embed-catalog"):
        lake.run("validate-catalog")
    [embed] = lake.run("embed-catalog")  # nothing changed, but it records the count again
    assert embed.table_version == engine.version(CATALOG_EMBEDDINGS)
    [check] = lake.run("validate-catalog")
    assert check.table_version == embed.table_version
