"""One file of a table for people: CSV (nested columns as JSON, cells safe to open in a
spreadsheet) or Parquet (types kept)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

FORMATS = ("csv", "parquet")
# a spreadsheet runs a cell starting with one of these as a formula
FORMULA_START = r"^[=+@\t\r-]"


def export_table(df: DataFrame, out: Path, fmt: str) -> Path:
    """Write ``df`` to the single file ``out`` (replaced if it exists) as ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        df = csv_ready(df)
    out = Path(out)
    # Spark writes a folder of parts: one part, written beside ``out``, is moved into place
    with tempfile.TemporaryDirectory(dir=out.parent.resolve()) as tmp:
        folder = Path(tmp) / "out"
        writer = df.coalesce(1).write.mode("overwrite")
        if fmt == "csv":
            writer.options(header=True, escape='"').csv(str(folder))
        else:
            writer.parquet(str(folder))
        part = next(folder.glob(f"part-*.{fmt}*"))
        shutil.move(part, out)
    return out


def csv_ready(df: DataFrame) -> DataFrame:
    """Map, struct and array columns as JSON text (CSV holds no nested values), binary as
    base64, strings safe to open in a spreadsheet."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, BinaryType, MapType, StringType, StructType

    columns = []
    for field in df.schema.fields:
        column = df[field.name]
        if isinstance(field.dataType, ArrayType | MapType | StructType):
            column = F.to_json(column)
        elif isinstance(field.dataType, BinaryType):
            column = F.base64(column)
        elif isinstance(field.dataType, StringType):
            column = _formula_safe(column)
        columns.append(column.alias(field.name))
    return df.select(*columns)


def _formula_safe(column: Column) -> Column:
    from pyspark.sql import functions as F

    return F.when(column.rlike(FORMULA_START), F.concat(F.lit("'"), column)).otherwise(column)
