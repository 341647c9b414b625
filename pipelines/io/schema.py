"""A source's columns and a sample of its rows, read on the driver without Spark: the check
of the configured column names before a run starts Spark or loads a model, and what
``pipelines init`` looks at to propose a config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.io.csv_reader import CsvOptions, common_header
from pipelines.io.errors import SourceError
from pipelines.io.sources import csv_files, existing_source

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

PARQUET_SUFFIXES = (".parquet", ".pq")


def source_format(path: Path) -> str:
    """csv, parquet or delta, told from the path: a file's suffix, a folder's content."""
    if (path / "_delta_log").is_dir():
        return "delta"
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    suffixes = {p.suffix.lower() for p in files if not p.name.startswith((".", "_"))}
    if ".csv" in suffixes:
        return "csv"
    if suffixes & set(PARQUET_SUFFIXES):
        return "parquet"
    raise SourceError(
        f"cannot tell the format of {path}: give a .csv or .parquet file, a folder of them,"
        " or a Delta table folder (with _delta_log)"
    )


def source_columns(section: str, config: Any) -> list[str]:
    """The column names of a configured source (``source``, ``format``, ``encoding``,
    ``multiline``): a CSV header, a Parquet or Delta schema; no row is read."""
    path = existing_source(section, config.source, config.format)
    if config.format == "csv":
        options = CsvOptions(section, config.encoding, config.multiline)
        return common_header(csv_files(section, path), options)
    return list(_arrow_schema(section, path, config.format).names)


def check_named_columns(section: str, config: Any) -> None:
    """Every column a key of ``config`` names (``config.named_columns()``) is in the source;
    else one line per key: its value, the source's columns and the key to set."""
    present = source_columns(section, config)
    problems = []
    for key, names in config.named_columns().items():
        missing = [name for name in names if name not in present]
        if missing:
            problems.append(_missing(section, key, config, missing, present))
    if problems:
        raise SourceError("\n".join(problems))


def _missing(section: str, key: str, config: Any, missing: list[str], present: list[str]) -> str:
    value = getattr(config, key)
    what = "such column" if value == missing[0] else f"column {', '.join(map(repr, missing))}"
    return (
        f"[{section}] {key} = {value!r}: no {what} in {config.source};"
        f" its columns are: {', '.join(map(repr, present))}; set [{section}] {key}"
    )


def sample_rows(section: str, path: Path, fmt: str, rows: int, encoding: str) -> pd.DataFrame:
    """The first ``rows`` rows of a source, CSV values as text (empty ones as missing)."""
    import pandas as pd

    path = existing_source(section, path, fmt)
    if fmt == "csv":
        parts, left = [], rows
        for file in csv_files(section, path):
            if left <= 0:
                break
            part = pd.read_csv(file, dtype=str, nrows=left, encoding=encoding)
            parts.append(part)
            left -= len(part)
        return pd.concat(parts, ignore_index=True)
    return _arrow_head(section, path, fmt, rows).to_pandas()


def _arrow_schema(section: str, path: Path, fmt: str) -> pa.Schema:
    import pyarrow as pa

    if fmt == "delta":
        return pa.schema(_delta(section, path).schema())
    return _parquet(path).schema


def _arrow_head(section: str, path: Path, fmt: str, rows: int) -> pa.Table:
    if fmt == "parquet":
        return _parquet(path).head(rows)
    table = _delta(section, path)
    try:
        return table.to_pyarrow_dataset().head(rows)
    except Exception:  # a table pyarrow cannot scan by itself (deletion vectors)
        return table.to_pyarrow_table().slice(0, rows)


def _parquet(path: Path):
    import pyarrow.dataset as ds

    return ds.dataset(str(path), format="parquet", partitioning="hive")


def _delta(section: str, path: Path):
    from deltalake import DeltaTable

    if not (path / "_delta_log").is_dir():
        raise SourceError(f"[{section}] source {path} is not a Delta table (no _delta_log)")
    return DeltaTable(str(path))
