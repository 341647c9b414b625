"""``pipelines init``: a config proposed from a look at the data, which then runs."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.data import make_catalog

from pipelines.cli.main import main
from pipelines.config import load_settings

EVENTS = pd.DataFrame(
    {
        "customer": ["c1", "c2", "c1", "c3"],
        "product_id": ["I0001", "I0002", "I0003", "I0001"],
        "action": ["view", "cart", "view", "purchase"],
        "when": ["2026-01-01T10:00:00Z"] * 4,
        "price_paid": ["1.5", "2", "3", "4"],
    }
)


def _catalog(tmp_path, fmt: str, n: int = 12):
    frame = make_catalog(n).rename(columns={"item_id": "sku"})
    frame["url"] = [f"https://shop.example/{i}" for i in range(n)]
    path = tmp_path / f"catalog.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _init(*args: str) -> int:
    return main(["init", *args])


def test_init_proposes_the_id_the_text_columns_and_the_event_columns(tmp_path, capsys):
    source, events, out = _catalog(tmp_path, "csv"), tmp_path / "events.csv", tmp_path / "p.toml"
    EVENTS.to_csv(events, index=False)
    assert _init(str(source), "--events", str(events), "--out", str(out)) == 0
    settings = load_settings(out)
    catalog = settings.catalog
    assert (catalog.source, catalog.format, catalog.id_column) == (source, "csv", "sku")
    assert catalog.text_template == "{title} by {brand}. {description}"
    assert catalog.payload_columns == ["title", "brand", "description", "price", "url"]
    cols = settings.events
    assert (cols.user_column, cols.item_column, cols.timestamp_column) == (
        "customer",
        "product_id",
        "when",
    )
    assert cols.type_column == "action" and cols.source == events
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and 'id_column = "sku"' in printed
    assert "# the item's id: unique and never empty" in out.read_text()


def test_init_leaves_the_type_column_unset_when_none_is_found(tmp_path):
    source, events, out = _catalog(tmp_path, "csv"), tmp_path / "events.csv", tmp_path / "p.toml"
    EVENTS.drop(columns="action").to_csv(events, index=False)
    assert _init(str(source), "--events", str(events), "--out", str(out)) == 0
    assert load_settings(out).events.type_column is None
    assert "# type_column = ..." in out.read_text()


def test_init_refuses_to_overwrite_without_force(tmp_path, capsys):
    source, out = _catalog(tmp_path, "csv"), tmp_path / "pipelines.toml"
    out.write_text("# mine\n")
    assert _init(str(source), "--out", str(out)) == 2
    assert "exists: pass --force" in capsys.readouterr().err
    assert out.read_text() == "# mine\n"
    assert _init(str(source), "--out", str(out), "--force") == 0
    assert load_settings(out).catalog.id_column == "sku"


def test_init_says_when_no_column_can_be_the_id(tmp_path, capsys):
    source = tmp_path / "c.csv"
    source.write_text("title,brand\na lamp,x\na lamp,x\n")
    assert _init(str(source), "--out", str(tmp_path / "p.toml")) == 2
    assert "no column is unique and never empty" in capsys.readouterr().err
    assert not (tmp_path / "p.toml").exists()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_proposed_config_runs_embed_catalog(spark, tmp_path, fmt):
    from pipelines.embed.catalog import embed_catalog
    from pipelines.lake import open_lake
    from pipelines.runtime.context import RunContext
    from pipelines.tables import CATALOG_EMBEDDINGS

    out = tmp_path / "pipelines.toml"
    assert _init(str(_catalog(tmp_path, fmt)), "--out", str(out)) == 0
    settings = load_settings(out)
    fast = settings.model.model_copy(update={"backend": "torch", "device": "cpu"})
    settings = settings.model_copy(update={"model": fast})
    lake = open_lake(spark, settings.lake)
    result = embed_catalog(RunContext(settings, spark, lake, "run-1"))
    assert (result.embedded, result.quarantined) == (12, 0)
    table = lake.read(CATALOG_EMBEDDINGS).toPandas().set_index("item_id")
    text = "Black skillet model 3 by Brand3. A black skillet with feature number 8."
    assert table.loc["I0003", "text"] == text
