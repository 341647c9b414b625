"""The id rule: one answer in plain Python, in pandas and in Spark."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.io.ids import NULL_LIKE_IDS, id_column, normalize_id, normalize_ids

CASES = [
    ("P1", "P1"),
    (" P1\t", "P1"),
    ("\nP1\r\n", "P1"),
    ("\u00a0P1\u2003\u3000", "P1"),  # NBSP, em space, ideographic space
    ("P1\u200b", "P1"),  # zero-width space
    ("\ufeffP1", "P1"),  # BOM
    ("P\u200d1\u00ad", "P1"),  # joiner and soft hyphen inside
    ("Cafe\u0301", "Caf\u00e9"),  # NFD to NFC
    ("e\u200b\u0301", "\u00e9"),  # composes once the invisible character is gone
    ("Blue  tent 7", "Blue  tent 7"),  # inner spaces stay
    ("\U0001d518-\U0001f600", "\U0001d518-\U0001f600"),  # outside the BMP
    ("nulled", "nulled"),
    ("NaN", None),
    ("null", None),
    ("None", None),
    ("NULL", None),
    (" none ", None),
    ("nan\u200b", None),
    ("", None),
    (" \t\u00a0", None),
    ("\u200b", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_id(raw, expected):
    assert normalize_id(raw) == expected


def test_non_strings_become_text():
    assert normalize_id(12) == "12"
    assert normalize_id(float("nan")) is None


def test_null_like_words():
    assert {"nan", "null", "none"} == NULL_LIKE_IDS


def test_pandas_gives_the_same_and_keeps_nulls():
    values = pd.Series([raw for raw, _ in CASES] + [float("nan")], dtype=object)
    assert normalize_ids(values).tolist() == [expected for _, expected in CASES] + [None]


def test_spark_column_gives_what_normalize_id_gives(spark):
    rows = [(i, raw) for i, (raw, _) in enumerate(CASES)]
    frame = spark.createDataFrame(rows, "i int, id string")
    got = {row.i: row.n for row in frame.select("i", id_column(frame.id).alias("n")).collect()}
    assert [got[i] for i in range(len(CASES))] == [expected for _, expected in CASES]
