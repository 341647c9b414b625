"""The Spark side of deletion vectors: reading a table without its deleted rows, and finding
the rows a MERGE replaces. Both join on (file name, row index), which Spark's Parquet reader
exposes as ``_metadata``; the deleted set is as large as what runs changed, not the table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pyspark.sql import functions as F

from pipelines.lake.errors import LakeError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

FILE, ROW = "_dv_file", "_dv_row"


def _positions(frame: DataFrame) -> DataFrame:
    return frame.select(
        "*",
        F.col("_metadata.file_name").alias(FILE),
        F.col("_metadata.row_index").alias(ROW),
    )


def without_deleted(
    spark: SparkSession, schema: StructType, files: list[str], deleted: dict[str, np.ndarray]
) -> DataFrame:
    """The rows of ``files`` minus those ``deleted`` names (file name -> row indexes)."""
    marked = [f for f in files if Path(f).name in deleted]
    plain = [f for f in files if Path(f).name not in deleted]
    parts = []
    if plain:
        parts.append(spark.read.schema(schema).parquet(*plain))
    if marked:
        gone = spark.createDataFrame(
            [(name, int(row)) for name, rows in deleted.items() for row in rows],
            f"{FILE} string, {ROW} long",
        )
        rows = _positions(spark.read.schema(schema).parquet(*marked))
        parts.append(rows.join(F.broadcast(gone), [FILE, ROW], "left_anti").drop(FILE, ROW))
    if not parts:
        return spark.createDataFrame([], schema)
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def matched_rows(
    spark: SparkSession, schema: StructType, files: list[str], source: DataFrame, keys: list[str]
) -> dict[str, np.ndarray]:
    """File name -> indexes of the rows whose ``keys`` the source holds (deleted or not:
    adding a deleted row again changes nothing)."""
    if not files:
        return {}
    table = _positions(spark.read.schema(schema).parquet(*files)).select(*keys, FILE, ROW)
    hits = table.join(source.select(*keys).distinct(), keys, "left_semi").select(FILE, ROW)
    found: dict[str, list[int]] = {}
    for name, row in hits.collect():
        found.setdefault(name, []).append(row)
    return {name: np.unique(np.asarray(rows, dtype=np.int64)) for name, rows in found.items()}


def require_unique(source: DataFrame, keys: list[str], table: str) -> None:
    """A MERGE source may hold each key once: two rows for one key cannot both replace it."""
    twice = source.groupBy(*keys).count().filter(F.col("count") > 1).limit(3).collect()
    if twice:
        shown = [tuple(r[k] for k in keys) for r in twice]
        raise LakeError(f"MERGE into {table}: keys {keys} occur more than once in the source, "
                        f"e.g. {shown}; nothing was committed")  # fmt: skip


def unique_names(files: list[str], table: str) -> None:
    """Deleted rows are matched by file name: the table's data file names must be unique."""
    names = [Path(f).name for f in files]
    if len(set(names)) != len(names):
        raise LakeError(f"{table}: two data files share a name; deletion vectors need unique ones")
