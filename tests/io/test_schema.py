"""A source's columns and sample rows, read without Spark, and the check of the configured
column names against them."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.embed.config import CatalogConfig, EventsConfig
from pipelines.io.errors import SourceError
from pipelines.io.schema import check_named_columns, sample_rows, source_columns, source_format

FRAME = pd.DataFrame({"sku": ["A1", "A2", "A3"], "name": ["x", "y", "z"], "price": [1, 2, 3]})


@pytest.fixture(params=["csv", "parquet", "delta"])
def source(request, tmp_path):
    fmt = request.param
    if fmt == "csv":
        path = tmp_path / "x.csv"
        FRAME.to_csv(path, index=False)
    elif fmt == "parquet":
        path = tmp_path / "x.parquet"
        FRAME.to_parquet(path, index=False)
    else:
        from deltalake import write_deltalake

        path = tmp_path / "x_delta"
        write_deltalake(str(path), FRAME)
    return path, fmt


def test_columns_and_rows_are_read_from_each_format(source):
    path, fmt = source
    assert source_format(path) == fmt
    assert source_columns("catalog", CatalogConfig(source=path, format=fmt)) == list(FRAME)
    sample = sample_rows("catalog", path, fmt, 2, "utf-8")
    assert list(sample.sku) == ["A1", "A2"]


def test_a_missing_id_column_names_the_key_the_file_and_its_columns(tmp_path):
    path = tmp_path / "x.csv"
    FRAME.to_csv(path, index=False)
    cfg = CatalogConfig(source=path, id_column="item_id", text_template="{name}")
    with pytest.raises(SourceError) as failed:
        check_named_columns("catalog", cfg)
    assert str(failed.value) == (
        f"[catalog] id_column = 'item_id': no such column in {path};"
        " its columns are: 'sku', 'name', 'price'; set [catalog] id_column"
    )


def test_every_wrong_key_is_named_at_once(tmp_path):
    path = tmp_path / "x.csv"
    FRAME.to_csv(path, index=False)
    cfg = CatalogConfig(
        source=path, id_column="sku", text_template="{name} {colour}", payload_columns=["size"]
    )
    with pytest.raises(SourceError) as failed:
        check_named_columns("catalog", cfg)
    template, payload = str(failed.value).splitlines()
    assert template.startswith("[catalog] text_template = '{name} {colour}': no column 'colour'")
    assert payload.startswith("[catalog] payload_columns = ['size']: no column 'size'")
    check_named_columns(
        "catalog", cfg.model_copy(update={"text_template": "{name}", "payload_columns": ["price"]})
    )


def test_optional_event_columns_are_checked_only_when_set(tmp_path):
    path = tmp_path / "e.csv"
    pd.DataFrame({"user_id": ["u"], "item_id": ["i"], "event_time": ["t"]}).to_csv(
        path, index=False
    )
    check_named_columns("events", EventsConfig(source=path))
    with pytest.raises(SourceError, match=r"\[events\] type_column = 'event_type': no such"):
        check_named_columns("events", EventsConfig(source=path, type_column="event_type"))


def test_an_unknown_format_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SourceError, match="cannot tell the format"):
        source_format(tmp_path)
