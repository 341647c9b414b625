"""Reading a configured source (CSV, Parquet or Delta) so that no record goes unaccounted:
each becomes a row, a rejected record with its reason and text, or a loud error.

CSV is parsed strictly on the driver (rules in ``pipelines.io.csv_reader``) and streamed
to Parquet in the caller's ``workdir``, which must outlive the returned DataFrames.
"""

from __future__ import annotations

import codecs
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.io.csv_reader import (
    BAD_ENCODING,
    MALFORMED_ROW,
    CsvOptions,
    common_header,
    convert_csv,
)
from pipelines.io.errors import SourceError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pipelines.lake import TableEngine

REJECTED_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("detail", pa.string()),
    ]
)
REJECT_REASONS = (MALFORMED_ROW, BAD_ENCODING)


@dataclass
class SourceRead:
    rows: DataFrame  # CSV columns are all strings, named as in the header
    rejected: DataFrame  # REJECTED_SCHEMA: file, line (1-based, null if unknown), reason, ...
    files: list[str]

    def rejected_counts(self) -> dict[str, int]:
        """Rejected records by reason."""
        counts = self.rejected.groupBy("reason").count().collect()
        return {row.reason: row["count"] for row in counts}


def read_source(
    lake: TableEngine,
    section: str,
    path: Path | None,
    fmt: str,
    columns: list[str],
    *,
    encoding: str = "utf-8",
    multiline: bool = False,
    workdir: Path,
) -> SourceRead:
    """Read ``path`` and check that every needed column is there; CSV records that break
    the rules in ``pipelines.io.csv_reader`` are in ``rejected``, never in ``rows``."""
    path = existing_source(section, path, fmt)
    if fmt == "csv":
        return _read_csv(
            lake, section, path, columns, CsvOptions(section, encoding, multiline), workdir
        )
    if fmt == "parquet":
        rows = lake.spark.read.parquet(str(path))
    else:
        if not (path / "_delta_log").is_dir():
            raise SourceError(f"[{section}] source {path} is not a Delta table (no _delta_log)")
        rows = lake.read_path(path)
    _check_columns(section, f"{path} ({fmt})", rows.columns, columns)
    rejected = lake.spark.createDataFrame(REJECTED_SCHEMA.empty_table())
    return SourceRead(rows=rows, rejected=rejected, files=sorted(rows.inputFiles()))


def read_configured(
    lake: TableEngine, section: str, config: Any, columns: list[str], workdir: Path
) -> SourceRead:
    """``read_source`` of a configured source: any object with ``source``, ``format``,
    ``encoding`` and ``multiline`` (the [catalog] and [events] sections)."""
    return read_source(
        lake, section, config.source, config.format, columns,
        encoding=config.encoding, multiline=config.multiline, workdir=workdir,
    )  # fmt: skip


def existing_source(section: str, path: Path | None, fmt: str) -> Path:
    if path is None:
        raise SourceError(f"[{section}] source is not set; point it at a {fmt} file or folder")
    if not path.exists():
        raise SourceError(
            f"[{section}] source {path} does not exist; fix the path or create the file"
        )
    return path


def _check_columns(section: str, where: str, present: list[str], needed: list[str]) -> None:
    missing = [name for name in needed if name not in present]
    if missing:
        raise SourceError(
            f"[{section}] source {where} has no column {', '.join(map(repr, missing))};"
            f" its columns are {', '.join(map(repr, present))}: fix the config or the file"
        )


def _read_csv(
    lake: TableEngine,
    section: str,
    path: Path,
    columns: list[str],
    options: CsvOptions,
    workdir: Path,
) -> SourceRead:
    _check_encoding(options)
    files = csv_files(section, path)
    header = common_header(files, options)
    where = f"{path} (csv)" if path == files[0] else f"{path} (csv, first file {files[0].name})"
    _check_columns(section, where, header, columns)
    folder = Path(tempfile.mkdtemp(prefix="csv-", dir=workdir))
    with _RejectSink(folder / "rejected.parquet") as sink:
        rows = convert_csv(files, header, folder, options, sink.add)
    spark = lake.spark
    return SourceRead(
        rows=spark.read.parquet(str(rows)),
        rejected=spark.read.parquet(str(sink.path)),
        files=[str(file) for file in files],
    )


def _check_encoding(options: CsvOptions) -> None:
    """Fail early on an encoding Python does not know or that line splitting cannot use."""
    try:
        codec = codecs.lookup(options.encoding)
    except LookupError:
        raise SourceError(
            f"[{options.section}] encoding {options.encoding!r} is not known:"
            " set it to a Python codec name such as utf-8, latin-1 or cp1252"
        ) from None
    if '\n,"'.encode(codec.name, errors="replace") != b'\n,"':
        raise SourceError(
            f"[{options.section}] encoding {options.encoding!r} does not store line breaks,"
            " commas and quotes as ASCII, which CSV reading needs: convert the file to UTF-8"
        )


def csv_files(section: str, path: Path) -> list[Path]:
    """The file itself, or a folder's ``*.csv`` files (hidden and ``_`` files skipped)."""
    if path.is_file():
        return [path]
    files = sorted(
        p for p in path.glob("*.csv") if p.is_file() and not p.name.startswith((".", "_"))
    )
    if not files:
        raise SourceError(
            f"[{section}] source folder {path} holds no *.csv files:"
            " point the source at a CSV file or a folder of them"
        )
    return files


class _RejectSink:
    """Rejected records streamed to a Parquet file in batches (a bad file may reject all)."""

    BATCH = 1000

    def __init__(self, path: Path):
        self.path = path
        self._pending: list[dict] = []
        self._writer = pq.ParquetWriter(path, REJECTED_SCHEMA)

    def add(self, file: str, line: int, reason: str, record: bytes, detail: str) -> None:
        raw = record.decode("utf-8", errors="replace")
        self._pending.append(
            {"file": file, "line": line, "reason": reason, "raw": raw, "detail": detail}
        )
        if len(self._pending) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.Table.from_pylist(self._pending, REJECTED_SCHEMA))
            self._pending = []

    def __enter__(self) -> _RejectSink:
        return self

    def __exit__(self, *exc) -> None:
        self._flush()
        self._writer.close()
