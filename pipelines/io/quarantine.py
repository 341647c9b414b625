"""Quarantine tables: bad input rows with a reason and the raw row, never silently dropped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from pipelines.lake import TableEngine
    from pipelines.lake.partitions import Partitions

QUARANTINE_COLUMNS = ["source", "reason", "key", "raw", "run_id", "quarantined_at"]
ROWS_PER_FILE = 500_000


def quarantine_rows(
    rows: DataFrame,
    reason: Column,
    key: Column,
    source: str,
    raw_columns: list[str],
    **extra: Column,
) -> DataFrame:
    """Shape bad rows for a quarantine table; ``raw`` is the source row as JSON."""
    raw = F.to_json(F.struct(*[F.col(name) for name in raw_columns]))
    return rows.select(
        F.lit(source).alias("source"),
        reason.alias("reason"),
        key.cast("string").alias("key"),
        raw.alias("raw"),
        *[column.alias(name) for name, column in extra.items()],
    )


def rejected_rows(rejected: DataFrame) -> DataFrame:
    """Records a source reader could not parse, shaped like ``quarantine_rows``: no key,
    ``raw`` holds the file, line, text and what was wrong."""
    raw = F.to_json(F.struct("file", "line", "detail", F.col("raw").alias("text")))
    return rejected.select(
        F.col("file").alias("source"),
        F.col("reason"),
        F.lit(None).cast("string").alias("key"),
        raw.alias("raw"),
    )


def write_quarantine(
    lake: TableEngine,
    table: str,
    bad: DataFrame,
    run_id: str,
    n_bad: int | None = None,
    kept: Column | None = None,
    partition_by: str | None = None,
    replace: Partitions | None = None,
) -> int | None:
    """Replace ``table`` with this run's ``bad`` rows, plus the existing rows ``kept``
    selects (an events run keeps other intervals'), in one commit; no commit when that
    is what the table holds already, nor a new empty table for a clean source. With
    ``replace``, only those partitions are read and rewritten (``bad`` lies in them)."""
    content = bad.columns
    rows = bad.withColumn("run_id", F.lit(run_id)).withColumn(
        "quarantined_at", F.current_timestamp()
    )
    rows = rows.select(*QUARANTINE_COLUMNS, *[c for c in content if c not in QUARANTINE_COLUMNS])
    if not lake.exists(table):
        if n_bad == 0:
            return None
    else:
        current = lake.read(table, partitions=replace)
        if kept is not None:
            rows = current.filter(kept).unionByName(rows)
        old, new = current.select(*content), rows.select(*content)
        if new.exceptAll(old).isEmpty() and old.exceptAll(new).isEmpty():
            return None
    if n_bad is not None:  # bad rows are usually few: one file by one task
        rows = rows.coalesce(max(1, -(-n_bad // ROWS_PER_FILE)))
    return lake.write(rows, table, run_id, partition_by=partition_by, replace=replace)
