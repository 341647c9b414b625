"""Partitioned tables: which partitions a read or a replace covers, and the partition value of
a data file.

Both engines partition by one column with Delta's own partitioning (``partitionValues`` in
the log), so any Delta reader prunes by it. The delta-rs engine also keeps the column inside
each data file: Spark then reads the files as plain Parquet, and the table's description
says so (``VALUES_IN_DATA``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from pipelines.lake.errors import LakeError

if TYPE_CHECKING:
    from deltalake import DeltaTable

# the description of a delta-rs table whose data files hold their partition column too
VALUES_IN_DATA = "pipelines: partition columns are also stored in the data files"
# the copy of the partition column Spark lays the staged files out by
STAGING_COLUMN = "_partition"


def partition_value(value: object) -> str | None:
    """A value as Delta writes it into ``partitionValues`` (None stays None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        raise LakeError(f"partition value {value!r}: partition by a date or string column")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Partitions:
    """The partitions of ``column`` whose value is one of ``values`` (None: null values)."""

    column: str
    values: frozenset[str | None]

    @classmethod
    def of(cls, column: str, values: Iterable[object]) -> Partitions:
        return cls(column, frozenset(partition_value(v) for v in values))

    def holds(self, value: str | None) -> bool:
        return value in self.values

    def predicate(self) -> str:
        """The SQL condition (replaceWhere, filter) that selects these partitions."""
        named = sorted(v for v in self.values if v is not None)
        parts = []
        if named:
            quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in named)
            parts.append(f"`{self.column}` IN ({quoted})")
        if None in self.values:
            parts.append(f"`{self.column}` IS NULL")
        return " OR ".join(parts) or "false"

    def describe(self) -> str:
        shown = sorted(self.values, key=lambda v: (v is None, v or ""))
        return f"{self.column} in {shown[:3]}{' ...' if len(shown) > 3 else ''}"


def file_partition(file: Path, column: str) -> str | None:
    """The one value of ``column`` in a staged data file, from its Parquet footer."""
    meta = pq.ParquetFile(file).metadata
    index = meta.schema.to_arrow_schema().get_field_index(column)
    if index < 0:
        raise LakeError(f"{file}: partition column {column!r} is not among its columns")
    values: set[object] = set()
    for group in range(meta.num_row_groups):
        chunk = meta.row_group(group).column(index)
        stats = chunk.statistics
        if stats is None:
            raise LakeError(f"{file}: no statistics for the partition column {column!r}")
        if stats.null_count:
            values.add(None)
        if stats.has_min_max:
            values.update({stats.min, stats.max})
    if len(values) > 1:
        raise LakeError(f"{file}: holds several values of partition column {column!r}: {values}")
    return partition_value(values.pop()) if values else None


def _file_rows(table: DeltaTable, partitions: Partitions) -> list[dict]:
    """Path, size and partition value of the files of ``partitions`` in ``table``."""
    import pyarrow as pa

    key = f"partition.{partitions.column}"
    files = pa.table(table.get_add_actions(flatten=True)).select(["path", "size_bytes", key])
    return [
        {"path": r["path"], "size": r["size_bytes"], "value": partition_value(r[key])}
        for r in files.to_pylist()
        if partitions.holds(partition_value(r[key]))
    ]


def partition_files(table: DeltaTable, partitions: Partitions) -> list[str]:
    from urllib.parse import unquote

    root = table.table_uri.removesuffix("/")
    return [f"{root}/{unquote(row['path'])}" for row in _file_rows(table, partitions)]


def removals(table: DeltaTable, partitions: Partitions) -> list:
    import time

    from deltalake.transaction import RemoveAction

    now = int(time.time() * 1000)
    return [
        RemoveAction(r["path"], True, now, r["size"], {partitions.column: r["value"]})
        for r in _file_rows(table, partitions)
    ]


def files_digest(table: DeltaTable, column: str, keep: Callable[[str | None], bool]) -> str:
    """A digest of the data files of ``table`` whose ``column`` partition value ``keep``
    accepts (path, size, deletion vector): Delta never rewrites a file in place, so any
    commit that adds or removes a row there changes it."""
    import hashlib

    import pyarrow as pa

    rows = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    key = f"partition.{column}"
    kept = sorted(
        "|".join(str(v) for k, v in sorted(row.items()) if k in ("path", "size_bytes")
                 or k.lower().startswith("deletion"))
        for row in rows
        if keep(partition_value(row[key]))
    )  # fmt: skip
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()[:16]
