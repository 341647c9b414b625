"""Delta deletion vectors written by the delta-rs engine, which deltalake reads but does not
write: a MERGE marks the replaced rows of a data file deleted instead of rewriting the file,
so a run costs the rows it changes, not the table.

A deletion vector is the Delta protocol's (PROTOCOL.md, "Deletion Vectors"): a 64-bit
roaring bitmap of row indexes, prefixed by its magic number, stored inline in the commit
(Z85-encoded). The commit re-adds each touched file with its grown vector, adds the new
rows' files, and raises the table protocol to the ``deletionVectors`` feature when needed;
it is written as the next log entry, created exclusively, under the engine's table lock.
Reading goes through deltalake (``deletion_vectors``): the decoding is never ours alone.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from deltalake import DeltaTable
    from deltalake.transaction import AddAction

MAGIC = 1681511377
FEATURE = "deletionVectors"
# writer features a legacy writer version implies, listed once the table moves to version 7
_LEGACY_WRITER = {
    2: ["appendOnly", "invariants"],
    3: ["appendOnly", "invariants", "checkConstraints"],
}
_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def z85(data: bytes) -> str:
    """ZeroMQ's Base85, as Delta encodes inline vectors (zero-padded to whole words)."""
    data += b"\0" * (-len(data) % 4)
    out = []
    for start in range(0, len(data), 4):
        value = int.from_bytes(data[start : start + 4], "big")
        word = []
        for _ in range(5):
            value, digit = divmod(value, 85)
            word.append(_Z85[digit])
        out.extend(reversed(word))
    return "".join(out)


def serialized(rows: Iterable[int]) -> bytes:
    """Magic number, then the rows as a portable 64-bit roaring bitmap (a count of 32-bit
    bitmaps, each after its high 32 bits)."""
    from pyroaring import BitMap

    high: dict[int, list[int]] = {}
    for row in sorted(set(int(r) for r in rows)):
        high.setdefault(row >> 32, []).append(row & 0xFFFFFFFF)
    body = struct.pack("<q", len(high))
    for key, lows in sorted(high.items()):
        body += struct.pack("<I", key) + BitMap(lows).serialize()
    return struct.pack("<i", MAGIC) + body


def descriptor(rows: np.ndarray) -> dict:
    data = serialized(rows)
    return {
        "storageType": "i",
        "pathOrInlineDv": z85(data),
        "sizeInBytes": len(data),
        "cardinality": int(len(np.unique(rows))),
    }


def deleted_rows(table: DeltaTable) -> dict[str, np.ndarray]:
    """File name -> the row indexes its deletion vector removes (none: not listed)."""
    import pyarrow as pa

    found = {}
    vectors = pa.RecordBatchReader.from_stream(table.deletion_vectors()).read_all()
    for row in vectors.to_pylist():
        keep = np.asarray(row["selection_vector"], dtype=bool)
        found[Path(row["filepath"]).name] = np.flatnonzero(~keep)
    return found


def deleted_share(table: DeltaTable) -> float:
    """The share of the table's stored rows its deletion vectors remove."""
    if FEATURE not in set(table.protocol().reader_features or ()):
        return 0.0
    import pyarrow as pa

    stored = pa.table(table.get_add_actions(flatten=True))["num_records"].to_pylist()
    deleted = sum(len(rows) for rows in deleted_rows(table).values())
    return deleted / max(sum(n or 0 for n in stored), 1)


def add_entry(action: AddAction) -> dict:
    """A deltalake AddAction as the log writes it."""
    return {
        "path": action.path,
        "partitionValues": dict(action.partition_values),
        "size": action.size,
        "modificationTime": action.modification_time,
        "dataChange": action.data_change,
        "stats": action.stats,
    }


def _protocol(table: DeltaTable) -> dict | None:
    """The protocol with deletion vectors, or None when the table has them already."""
    current = table.protocol()
    readers = list(current.reader_features or [])
    writers = list(current.writer_features or _LEGACY_WRITER.get(current.min_writer_version, []))
    if FEATURE in readers and FEATURE in writers:
        return None
    return {
        "minReaderVersion": 3,
        "minWriterVersion": 7,
        "readerFeatures": sorted({*readers, FEATURE}),
        "writerFeatures": sorted({*writers, FEATURE}),
    }


def merge_commit(
    table: DeltaTable,
    removed: Mapping[str, np.ndarray],
    added: list[dict],
    metadata: Mapping[str, str],
) -> int:
    """Commit, as the version after ``table``'s: the rows ``removed`` (file name -> row
    indexes) deleted from their files and the ``added`` files (Delta add actions) added.
    Returns the new version."""
    now = int(time.time() * 1000)
    previous = deleted_rows(table)
    files = {Path(f["path"]).name: f for f in _add_actions(table)}
    actions: list[dict] = [_commit_info(now, metadata, len(removed), len(added))]
    if (protocol := _protocol(table)) is not None:
        actions.append({"protocol": protocol})
    for name, rows in sorted(removed.items()):
        old, before = files[name], previous.get(name)
        removal = _removal(old, now)
        if before is not None and len(before):  # the entry removed is (path, its vector)
            removal["deletionVector"] = descriptor(before)
            rows = np.union1d(before, rows)
            if len(rows) == len(before):  # nothing new: re-adding the same entry drops it
                continue
        actions.append({"remove": removal})
        actions.append({"add": {**_re_added(old), "deletionVector": descriptor(rows)}})
    actions += [{"add": action} for action in added]
    version = table.version() + 1
    entry = Path(table.table_uri.removeprefix("file://")) / "_delta_log" / f"{version:020d}.json"
    with open(entry, "x") as log:  # exclusive: a commit that raced this one is never replaced
        log.write("\n".join(json.dumps(action) for action in actions) + "\n")
    return version


def _commit_info(now: int, metadata: Mapping[str, str], touched: int, added: int) -> dict:
    parameters = {"touchedFiles": str(touched), "addedFiles": str(added)}
    info = {"timestamp": now, "operation": "MERGE", "operationParameters": parameters}
    return {"commitInfo": {**info, "clientVersion": "pipelines", **metadata}}


def _add_actions(table: DeltaTable) -> list[dict]:
    """The current add actions as the log holds them (path, size, stats, vector)."""
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    return [
        {
            "path": a["path"],
            "size": a["size_bytes"],
            "modificationTime": a["modification_time"],
            "numRecords": a.get("num_records"),
        }
        for a in actions
    ]


def _removal(old: dict, now: int) -> dict:
    return {
        "path": old["path"],
        "deletionTimestamp": now,
        "dataChange": True,
        "extendedFileMetadata": True,
        "partitionValues": {},
        "size": old["size"],
    }


def _re_added(old: dict) -> dict:
    stats = {"numRecords": old["numRecords"]} if old["numRecords"] is not None else {}
    return {
        "path": old["path"],
        "partitionValues": {},
        "size": old["size"],
        "modificationTime": old["modificationTime"],
        "dataChange": True,
        "stats": json.dumps(stats),
    }
