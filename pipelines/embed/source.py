"""Reading a configured source (CSV, Parquet or Delta) with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.embed.errors import SourceError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pipelines.lake import TableEngine


def read_source(
    lake: TableEngine, section: str, path: Path | None, fmt: str, columns: list[str]
) -> DataFrame:
    """Read ``path`` and check that every needed column is there; nothing is written."""
    if path is None:
        raise SourceError(f"[{section}] source is not set; point it at a {fmt} file or folder")
    if not path.exists():
        raise SourceError(
            f"[{section}] source {path} does not exist; fix the path or create the file"
        )
    spark = lake.spark
    if fmt == "csv":
        reader = spark.read.options(header=True, inferSchema=False, multiLine=True, escape='"')
        df = reader.csv(str(path))
    elif fmt == "parquet":
        df = spark.read.parquet(str(path))
    else:
        if not (path / "_delta_log").is_dir():
            raise SourceError(f"[{section}] source {path} is not a Delta table (no _delta_log)")
        df = lake.read_path(path)
    missing = [name for name in columns if name not in df.columns]
    if missing:
        raise SourceError(
            f"[{section}] source {path} ({fmt}) has no column {', '.join(map(repr, missing))};"
            f" its columns are {', '.join(df.columns)}: fix the config or the file"
        )
    return df
