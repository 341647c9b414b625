"""The ``pipelines`` command in-process: run with a summary, export, history, errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers.data import make_catalog, write_settings

from pipelines.cli.main import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def configured(spark, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    make_catalog(20).to_csv(tmp / "catalog.csv", index=False)
    config = write_settings(tmp, tmp / "catalog.csv")
    summary = tmp / "summary.json"
    assert main(["run", "--config", str(config), "--summary", str(summary), "--run-id", "r1"]) == 0
    return tmp, config, json.loads(summary.read_text())


def test_run_writes_summary(configured):
    _, _, summary = configured
    stage = summary["embed-catalog"]
    assert stage["rows_read"] == 20 and stage["embedded"] == 20 and stage["quarantined"] == 0
    assert {"skipped", "tombstoned", "seconds"} <= stage.keys()


def test_export_csv_has_vectors_as_json(configured):
    tmp, config, _ = configured
    out = tmp / "export.csv"
    assert main(["export", "embeddings/catalog", "--out", str(out), "--config", str(config)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 20
    assert len(json.loads(frame.vector.iloc[0])) == 384
    assert json.loads(frame.payload.iloc[0]).keys() == {"title", "price"}


def test_export_parquet(configured):
    tmp, config, _ = configured
    out = tmp / "export.parquet"
    args = ["export", "embeddings/catalog", "--out", str(out), "--format", "parquet"]
    assert main([*args, "--config", str(config)]) == 0
    assert len(pd.read_parquet(out).vector.iloc[0]) == 384


def test_history_lists_run(configured, capsys):
    _, config, _ = configured
    assert main(["history", "embeddings/catalog", "--config", str(config)]) == 0
    assert "r1" in capsys.readouterr().out


def test_errors_exit_2_with_message(configured, capsys):
    tmp, config, _ = configured
    assert main(["history", "embeddings/absent", "--config", str(config)]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = (
        write_settings(tmp / "bad", tmp / "missing.csv") if (tmp / "bad").mkdir() is None else None
    )
    assert main(["run", "--config", str(bad)]) == 2
    assert "missing.csv does not exist" in capsys.readouterr().err
