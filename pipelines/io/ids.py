"""The one rule for ids (catalog item ids, user and item ids in events).

An id is compared after: invisible format characters (Unicode category Cf: zero-width
space, joiners, BOM, soft hyphen, ...) are removed, the text is put in Unicode NFC, and
leading and trailing whitespace of every kind (tabs, line breaks, NBSP, other Unicode
spaces) is stripped. An empty result or a null-like word (``NULL_LIKE_IDS``, any case)
is no id: None. Inner spaces stay, so "Blue 7" and "Blue  7" are two ids.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import Column

NULL_LIKE_IDS = frozenset({"nan", "null", "none"})


def normalize_id(value: object) -> str | None:
    """``value`` as an id under the module's rule; None when it is no id."""
    if value is None:
        return None
    text = str(value)
    if not text.isascii():  # ASCII has no format characters and is already NFC
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
        text = unicodedata.normalize("NFC", text)
    text = text.strip()
    if not text or text.casefold() in NULL_LIKE_IDS:
        return None
    return text


def id_column(col: Column) -> Column:
    """``normalize_id`` over a column, as a Spark column (null for no id)."""
    return _id_udf()(col.cast("string"))


def normalize_ids(values: pd.Series) -> pd.Series:
    """``normalize_id`` over a pandas Series of strings (None for null and no id)."""
    return pd.Series([None if pd.isna(v) else normalize_id(v) for v in values], dtype=object)


@cache
def _id_udf():
    from pyspark.sql.functions import pandas_udf

    return pandas_udf(normalize_ids, "string")  # built on first use: importing needs no Spark
