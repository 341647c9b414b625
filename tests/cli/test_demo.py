"""`pipelines demo --dataset NAME`: a lake and a pipelines.toml of its own, the data's settings
never taken from the config it was given, another lake left byte for byte as it was, and the
evaluate stage's figures printed as tables."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from deltalake import DeltaTable
from rich.console import Console

from pipelines.cli.demo import prepare_demo, print_metrics, write_demo_config
from pipelines.cli.main import main
from pipelines.config import load_settings
from pipelines.runtime.context import StageResult

# the settings `make demo` leaves in ./pipelines.toml, Qdrant path and all
OTHER_LAKE = """
[lake]
root = "lakehouse"
[spark]
master = "local[2]"
[model]
backend = "torch"
device = "cpu"
[qdrant]
path = "lakehouse/qdrant"
[catalog]
source = "other/catalog.csv"
payload_columns = ["title"]
[events]
source = "other/events.csv"
[evaluate]
dedup_gold = "other/pairs.csv"
recs_items = true
"""


def _files(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_demo_settings_are_the_data_sets_alone(tmp_path):
    config = tmp_path / "pipelines.toml"
    config.write_text(OTHER_LAKE)
    base = load_settings(config)
    demo = prepare_demo(base, "sample", tmp_path / "data")
    folder = (tmp_path / "data" / "sample").resolve()
    assert demo.lake.root == folder / "lakehouse"
    assert demo.qdrant_path == folder / "lakehouse" / "qdrant"
    assert demo.catalog.source == folder / "catalog.csv"
    assert demo.catalog.payload_columns == ["title", "brand", "category", "price"]
    assert demo.events.source == folder / "events.csv"
    assert demo.evaluate.dedup_gold == folder / "planted_pairs.csv"
    assert demo.evaluate.recs_items is False
    assert demo.model.backend == "torch"  # how to run is kept

    written = write_demo_config(demo)
    assert written == folder / "pipelines.toml"
    assert load_settings(written) == demo
    assert 'root = "lakehouse"' in written.read_text()  # relative: the folder can move


@pytest.mark.slow
def test_dataset_demo_leaves_another_lake_as_it_was(spark, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipelines.toml").write_text(OTHER_LAKE)
    other = tmp_path / "lakehouse"
    log = other / "embeddings" / "catalog" / "_delta_log"
    log.mkdir(parents=True)
    (log / "00000000000000000000.json").write_text('{"commitInfo": {}}\n')
    (other / "qdrant").mkdir()
    (other / "qdrant" / "meta.json").write_text('{"collections": {}}')
    before = _files(other)

    args = ["demo", "--dataset", "sample", "--data-dir", "data", "--stage", "embed-catalog"]
    assert main(args) == 0
    out = capsys.readouterr().out

    assert _files(other) == before
    own = tmp_path / "data" / "sample"
    table = DeltaTable(str(own / "lakehouse" / "embeddings" / "catalog"))
    assert table.to_pyarrow_table(columns=["item_id"]).num_rows == 300
    settings = load_settings(own / "pipelines.toml")
    assert settings.lake.root == (own / "lakehouse").resolve()
    assert "pipelines run --config data/sample/pipelines.toml" in out


def test_metric_tables_print_the_evaluate_figures():
    dedup = {"gold": "/x/planted_pairs.csv", "items": 300, "gold_pairs": 24,
             "predicted_pairs": 23, "pairwise_precision": 1.0, "pairwise_recall": 0.9583,
             "pairwise_f1": 0.9787, "bcubed_precision": 1.0, "bcubed_recall": 0.9861,
             "bcubed_f1": 0.993}  # fmt: skip
    rows = [
        {"method": "item-to-item (embeddings)", "users": 60, "hr_at_k": 0.3167, "ndcg_at_k": 0.1},
        {"method": "popularity", "users": 60, "hr_at_k": 0.05, "ndcg_at_k": 0.02},
    ]
    results = [
        StageResult(stage="dedup"),
        StageResult(stage="evaluate", details={"dedup": dedup, "recs_items": rows}),
    ]
    buffer = io.StringIO()
    print_metrics(Console(file=buffer, width=120), results, k=10)
    out, lines = buffer.getvalue(), buffer.getvalue().splitlines()
    assert "dedup against planted_pairs.csv" in out
    assert any("pairwise_f1" in line and "0.9787" in line for line in lines)
    assert "HR@10" in out and "NDCG@10" in out
    assert any("item-to-item (embeddings)" in line and "0.3167" in line for line in lines)
