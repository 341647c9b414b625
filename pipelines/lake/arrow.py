"""Delta tables read by pyarrow alone, for commands that start no Spark (status, lookups)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow.dataset as ds


def table_dataset(
    path: Path, version: int | None = None, columns: list[str] | None = None
) -> ds.Dataset:
    """A table version as a pyarrow dataset: deltalake's own where it reads the table, else
    its scan (which applies deletion vectors) of ``columns`` (None: all), held in memory."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    table = DeltaTable(str(path), version=version)
    if "deletionVectors" not in set(table.protocol().reader_features or ()):
        return table.to_pyarrow_dataset()
    schema = pa.schema(table.schema().to_arrow())
    if columns is not None:
        schema = pa.schema([schema.field(name) for name in columns])
    rows = pa.RecordBatchReader.from_stream(table.scan(columns=schema.names)).cast(schema)
    return ds.dataset(rows.read_all())
