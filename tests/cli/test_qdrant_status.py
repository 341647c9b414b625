"""`pipelines qdrant status` reads Qdrant and the publish history without starting Spark."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from pipelines.cli.main import main
from pipelines.config import load_settings
from pipelines.vectorstore import open_store


def _no_spark(*args, **kwargs):
    raise AssertionError("qdrant status started Spark")


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A lake whose catalog alias serves one of two collections, with its publish history."""
    import pipelines.runtime.spark

    config = tmp_path / "pipelines.toml"
    config.write_text('[lake]\nroot = "lake"\n')
    store = open_store(load_settings(config))
    for name in ("catalog__m__run1", "catalog__m__run2"):
        store.create_collection(name, 4)
    store.point_alias("catalog", "catalog__m__run2")
    store.close()
    history = {
        "alias": ["catalog", "catalog"], "collection": ["catalog__m__run1", "catalog__m__run2"],
        "table": ["embeddings/catalog"] * 2, "table_version": [3, 4], "model_id": ["m"] * 2,
        "run_id": ["run1", "run2"], "mode": ["full", "full"], "points": [299, 300],
        "published_at": [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2)],
    }  # fmt: skip
    write_deltalake(str(tmp_path / "lake" / "publish" / "history"), pa.table(history))
    monkeypatch.setattr(pipelines.runtime.spark, "build_spark", _no_spark)
    return config


def test_status_needs_no_spark(served, capsys):
    assert main(["qdrant", "status", "--config", str(served)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "alias catalog -> catalog__m__run2" in out
    assert "collections: catalog__m__run1, catalog__m__run2" in out
    assert "embeddings/catalog version 4" in out and "run run2" in out and "300 points" in out


def test_status_of_an_alias_not_published_yet(served, capsys):
    assert main(["qdrant", "status", "--table", "users", "--config", str(served)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "alias users -> not published yet" in out
