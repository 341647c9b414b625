"""Strict CSV reading: every record becomes a row, a rejected record, or a loud error.

The rule, checked on each record before pyarrow parses it:

- A record is one physical line. A value is either unquoted (no ``"``, ``,`` or line
  break) or wholly quoted, with inner quotes doubled (RFC 4180). Anything else is a
  ``malformed_row``: a quote left open on its line, a quote inside an unquoted value,
  text after a closing quote, or a field count that differs from the header's.
- With ``multiline`` on, a record whose quote is still open continues on the next line,
  so quoted values may hold line breaks; a stray quote can then swallow the lines up to
  the next stray quote, which is why it is off by default.
- A record with bytes that are not valid UTF-8 is ``bad_encoding``; with another
  encoding, the file is transcoded and a byte that does not decode fails the read.
- Blank lines are not records. An unquoted empty value reads as null, a quoted one
  (``""``) as the empty string.

Each file's header is parsed on its own and its values are placed by column name.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.io.errors import SourceError

MALFORMED_ROW = "malformed_row"
BAD_ENCODING = "bad_encoding"

_QUOTED = rb'"[^"]*(?:""[^"]*)*"'
_UNQUOTED = rb'[^",\r\n]*'
_FIELD = rb"(?:" + _QUOTED + rb"|" + _UNQUOTED + rb")"
_RECORD = re.compile(_FIELD + rb"(?:," + _FIELD + rb")*")
_QUOTED_VALUE = re.compile(_QUOTED)
_BOM = codecs.BOM_UTF8
_UTF8_NAMES = ("utf-8", "utf-8-sig")
PART_ROWS = 50_000
BLOCK_BYTES = 1 << 20  # pyarrow's batch size, its default
MAX_RECORD_BYTES = 16 * 2**20  # bounds driver memory when line breaks are missing or wrong

Reject = Callable[[str, int, str, bytes, str], None]  # file, line, reason, record, detail


@dataclass(frozen=True)
class CsvOptions:
    section: str
    encoding: str = "utf-8"
    multiline: bool = False

    @cached_property
    def is_utf8(self) -> bool:
        return codecs.lookup(self.encoding).name in _UTF8_NAMES


def common_header(files: list[Path], options: CsvOptions) -> list[str]:
    """The first file's columns, after checking every file holds the same set."""
    first = read_header(files[0], options)
    for file in files[1:]:
        columns = read_header(file, options)
        lacking, extra = set(first) - set(columns), set(columns) - set(first)
        if lacking or extra:
            raise SourceError(
                f"[{options.section}] {file} has other columns than {files[0]}:"
                f" it lacks {_names(lacking)} and adds {_names(extra)};"
                " give every file of the source the same header columns"
            )
    return first


def read_header(file: Path, options: CsvOptions) -> list[str]:
    if file.stat().st_size == 0:
        raise SourceError(
            f"[{options.section}] {file} is empty (0 bytes) and has no header line:"
            " write a header line or remove the file"
        )
    with file.open("rb") as handle:
        for number, record in _records(handle, file, options):
            return _parse_header(file, number, record, options.section)
    raise SourceError(
        f"[{options.section}] {file} has no header line, only blank lines:"
        " write a header line or remove the file"
    )


def _parse_header(file: Path, number: int, record: bytes, section: str) -> list[str]:
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(
            f"[{section}] {file} header (line {number}) is not valid UTF-8:"
            f" set [{section}] encoding to the file's encoding or save it as UTF-8"
        ) from None
    if not _RECORD.fullmatch(record) or "\r" in text:
        raise SourceError(
            f"[{section}] {file} header (line {number}) has a stray quote or line break:"
            f" {text!r}; fix the header line"
        )
    columns = next(csv.reader([text]))
    problems = [f"column {i + 1} has no name" for i, name in enumerate(columns) if not name]
    problems += [f"{name!r} appears twice" for name in sorted(_repeated(columns))]
    if problems:
        raise SourceError(
            f"[{section}] {file} header (line {number}): {'; '.join(problems)};"
            " give every column one unique name (a trailing comma adds a nameless one)"
        )
    return columns


def convert_csv(
    files: list[Path], columns: list[str], folder: Path, options: CsvOptions, reject: Reject
) -> Path:
    """Write the good records as Parquet under ``folder`` (one part per file, ``columns``
    in order) and hand the others to ``reject``; returns the Parquet folder."""
    rows = folder / "rows"
    rows.mkdir()
    schema = pa.schema([(name, pa.string()) for name in columns])
    clean = folder / "clean.csv"
    for index, file in enumerate(files):
        header, good = _write_clean(file, clean, options, reject)
        batches = _parse_clean(clean, header, options) if good else iter(())
        _write_parts(rows, f"part-{index:05d}", schema, (b.select(columns) for b in batches))
        clean.unlink()
    return rows


def _write_parts(folder: Path, stem: str, schema: pa.Schema, batches: Iterator) -> None:
    """One Parquet part per PART_ROWS records or so (Spark reads a large file on several
    cores); at least one part, which carries the schema when there is no record."""
    part, written, writer = 0, 0, pq.ParquetWriter(folder / f"{stem}-0.parquet", schema)
    try:
        for batch in batches:
            if written >= PART_ROWS:
                writer.close()
                part, written = part + 1, 0
                writer = pq.ParquetWriter(folder / f"{stem}-{part}.parquet", schema)
            writer.write_batch(batch)
            written += batch.num_rows
    finally:
        writer.close()


def _write_clean(
    file: Path, clean: Path, options: CsvOptions, reject: Reject
) -> tuple[list[str], int]:
    """Copy the file's good records (as UTF-8) to ``clean``, sending the others to
    ``reject``; returns the header and the number of good records."""
    good, header = 0, None
    with file.open("rb") as handle, clean.open("wb") as out:
        for number, record in _records(handle, file, options):
            if header is None:
                header = _parse_header(file, number, record, options.section)
                continue
            fault = _fault(record, header, options)
            if fault:
                reject(str(file), number, fault[0], record, fault[1])
                continue
            out.write(record + b"\n")
            good += 1
    assert header is not None  # common_header read it before
    return header, good


def _parse_clean(clean: Path, header: list[str], options: CsvOptions) -> Iterator:
    """Record batches of ``clean``; a row of the wrong shape raises, but none gets here."""
    return pa_csv.open_csv(
        clean,
        read_options=pa_csv.ReadOptions(column_names=header, block_size=BLOCK_BYTES),
        parse_options=pa_csv.ParseOptions(newlines_in_values=options.multiline),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=False,
        ),
    )


def _fault(record: bytes, header: list[str], options: CsvOptions) -> tuple[str, str] | None:
    """(reason, detail) for a record that cannot be read, None for a good one."""
    if b'"' not in record and b"\r" not in record and record.isascii():
        fields = record.count(b",") + 1  # unquoted ASCII: the checks below reduce to this
        return None if fields == len(header) else (MALFORMED_ROW, _count_detail(fields, header))
    section = options.section
    if not _RECORD.fullmatch(record):
        return MALFORMED_ROW, _quote_detail(record, header, options)
    if not options.multiline and b"\r" in record:
        return MALFORMED_ROW, (
            f"a quoted value holds a line break; if values really hold line breaks,"
            f" set [{section}] multiline = true"
        )
    fields = _field_count(record)
    if fields != len(header):
        return MALFORMED_ROW, _count_detail(fields, header)
    if options.is_utf8:
        return _utf8_fault(record, header, section)
    return None


def _count_detail(fields: int, header: list[str]) -> str:
    return f"{fields} fields, header has {len(header)}"


def _quote_detail(record: bytes, header: list[str], options: CsvOptions) -> str:
    """What breaks the quoting rule, where the longest valid start of the record ends."""
    end = _RECORD.match(record).end()
    fields = _field_count(record[:end])
    column = repr(header[fields - 1]) if fields <= len(header) else f"{fields} (beyond the header)"
    char, before = record[end : end + 1], record[end - 1 : end] if end else b","
    if char == b'"' and before == b",":
        hint = f" set [{options.section}] multiline = true if values really hold line breaks,"
        return (
            f"a quote opens in column {column} and does not close on this line:"
            + ("" if options.multiline else hint)
            + " else close or remove the quote"
        )
    if char == b'"':
        what = f"a quote inside the unquoted value of column {column}"
    elif before == b'"':
        what = f"text after the closing quote of column {column}"
    else:
        what = f"a line break outside quotes in column {column}"
    return what + ': quote the whole value and double its inner quotes, as in "5"" screen"'


def _field_count(record: bytes) -> int:
    unquoted = _QUOTED_VALUE.sub(b"", record) if b'"' in record else record
    return unquoted.count(b",") + 1


def _utf8_fault(record: bytes, header: list[str], section: str) -> tuple[str, str] | None:
    try:
        record.decode("utf-8")
    except UnicodeDecodeError as error:
        prefix = record[: error.start]
        if prefix.count(b'"') % 2:  # inside a quoted value: close it so it can be removed
            prefix += b'"'
        column = header[_field_count(prefix) - 1]
        return BAD_ENCODING, (
            f"column {column!r} holds bytes that are not UTF-8 (0x{record[error.start]:02x}):"
            f" set [{section}] encoding to the file's encoding, or save the file as UTF-8"
        )
    return None


def _records(handle: BinaryIO, file: Path, options: CsvOptions) -> Iterator[tuple[int, bytes]]:
    """(first physical line, record as UTF-8 bytes without its line break), blank lines
    skipped; with ``multiline``, lines join while a quote is open."""
    pending: list[bytes] = []
    start, size, open_quote = 0, 0, False
    for number, line in _lines(handle, file, options):
        if not pending:
            start, size, open_quote = number, 0, False
        pending.append(line)
        size += len(line)
        open_quote ^= bool(line.count(b'"') % 2)
        if options.multiline and open_quote and size <= MAX_RECORD_BYTES:
            continue
        if size > MAX_RECORD_BYTES:
            raise _too_long(file, start, options.section)
        record = _strip_line_break(b"".join(pending))
        pending = []
        if record:
            yield start, record
    if pending:
        raise SourceError(
            f"[{options.section}] {file}: a quoted value opened on line {start} never closes;"
            f" with [{options.section}] multiline = true the rest of the file would be one"
            " record: close or remove the quote"
        )


def _lines(handle: BinaryIO, file: Path, options: CsvOptions) -> Iterator[tuple[int, bytes]]:
    """Physical lines with their line breaks, transcoded to UTF-8 and without a BOM."""
    for number, line in enumerate(iter(lambda: handle.readline(MAX_RECORD_BYTES + 1), b""), 1):
        if len(line) > MAX_RECORD_BYTES:
            raise _too_long(file, number, options.section)
        if not options.is_utf8:
            line = _transcode(line, file, number, options)
        if number == 1:
            line = line.removeprefix(_BOM)
        yield number, line


def _transcode(line: bytes, file: Path, number: int, options: CsvOptions) -> bytes:
    try:
        return line.decode(options.encoding).encode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(
            f"[{options.section}] {file} line {number} is not valid {options.encoding}"
            f" (byte 0x{line[error.start]:02x}): set [{options.section}] encoding to the"
            f" file's encoding, or save the file as {options.encoding}"
        ) from None


def _strip_line_break(record: bytes) -> bytes:
    return record.removesuffix(b"\n").removesuffix(b"\r")


def _too_long(file: Path, number: int, section: str) -> SourceError:
    return SourceError(
        f"[{section}] {file}: the record from line {number} is longer than"
        f" {MAX_RECORD_BYTES // 2**20} MiB; check that lines end with \\n (not a lone \\r)"
        f" and that no quote is left open with [{section}] multiline = true"
    )


def _repeated(columns: list[str]) -> set[str]:
    return {name for name in columns if columns.count(name) > 1}


def _names(names: set[str]) -> str:
    return ", ".join(map(repr, sorted(names))) or "nothing"
