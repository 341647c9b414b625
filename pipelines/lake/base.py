"""The table engine interface: Spark DataFrames in and out of Delta tables.

Template methods here validate names, stamp the run id and keep history engine-agnostic (both
engines write the same Delta protocol, so ``deltalake`` reads any table's log); an engine only
implements ``_read``, ``_write`` and ``_merge``.

Concurrent runs: every read of a table's current state pins the version it saw. A write of
that table then commits only if the table is still at that version, checked under a
per-table lock that a crashed holder cannot keep (an ``flock``, dropped by the kernel when
its process dies). A run that lost the race fails with ``ConcurrentWriteError`` (transient:
a re-run reads the new state) and writes nothing, so no commit is ever built on data another
run has replaced.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipelines.io.workdirs import LockTimeout, held
from pipelines.lake.errors import ConcurrentWriteError, LakeError, TableNotFoundError
from pipelines.lake.partitions import Partitions, files_digest

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    from pyspark.sql import DataFrame, SparkSession

WriteMode = Literal["overwrite", "append"]
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)*$")
ABSENT = -1  # the version a run saw of a table that did not exist yet
LOCK_WAIT_S = 600.0


@dataclass(frozen=True)
class Layout:
    """How a write lays out and replaces: by ``partition_by`` (None: unpartitioned), only the
    partitions ``replace`` names (None: the whole table, or an append)."""

    partition_by: str | None = None
    replace: Partitions | None = None


@dataclass(frozen=True)
class TableVersion:
    version: int
    timestamp: datetime
    operation: str
    run_id: str | None
    metadata: dict[str, str]


class TableEngine(ABC):
    # whether commit metadata may hold values computed by the write's own Spark jobs
    # (the driver commits after them); an engine whose commit is that job says False
    deferred_metadata = True

    def __init__(self, spark: SparkSession, root: Path):
        self.spark = spark
        self.root = Path(root)
        # table -> the version this run first saw of it since it last wrote it
        self.read_versions: dict[str, int] = {}
        # table -> the version last read, current or not: the inputs a commit records
        self.inputs: dict[str, int] = {}

    def begin(self) -> None:
        """Forget what earlier stages read: each stage is its own unit of work."""
        self.read_versions.clear()
        self.inputs.clear()

    def path(self, table: str) -> Path:
        if not _TABLE_NAME.match(table):
            raise LakeError(
                f"table name {table!r} is not valid; use lower-case words joined by '/',"
                " such as 'embeddings/catalog'"
            )
        return self.root / table

    def exists(self, table: str) -> bool:
        found = (self.path(table) / "_delta_log").is_dir()
        if not found:  # a run that found no table must not overwrite one made meanwhile
            self.read_versions.setdefault(table, ABSENT)
        return found

    def version(self, table: str) -> int | None:
        if not self.exists(table):
            return None
        from deltalake import DeltaTable

        return DeltaTable(str(self.path(table))).version()

    def read(
        self, table: str, version: int | None = None, partitions: Partitions | None = None
    ) -> DataFrame:
        """A version of ``table`` (default: the current one, pinned and remembered as what
        this run read, so that a later write of it can detect a concurrent commit); with
        ``partitions``, only their rows, and only their files are opened."""
        if not self.exists(table):
            raise TableNotFoundError(
                f"table {table!r} does not exist under {self.root}; run the stage that writes it"
            )
        if version is None:
            version = self.version(table)
            self.read_versions.setdefault(table, version)
        self.inputs[table] = version
        return self._read(self.path(table), version, partitions)

    def read_path(self, path: Path, version: int | None = None) -> DataFrame:
        """Read a Delta table outside the lake (a source), by its folder."""
        return self._read(Path(path), version, None)

    def arrow_dataset(self, table: str, version: int | None = None) -> ds.Dataset | None:
        """A table version as a pyarrow dataset the driver reads itself, with no Spark job;
        None where this engine reads only through Spark."""
        return None

    def write(
        self,
        df: DataFrame,
        table: str,
        run_id: str,
        mode: WriteMode = "overwrite",
        metadata: dict[str, object] | None = None,
        partition_by: str | None = None,
        replace: Partitions | None = None,
    ) -> int:
        """Write ``df`` in one Delta commit carrying ``run_id``, the versions of the tables
        this run read and ``metadata`` (a value may be a function, called at commit time:
        a count observed by the write itself); returns the new version. Fails with
        ``ConcurrentWriteError`` if ``table`` changed since this run read it.

        ``partition_by`` lays the table out by that column. ``replace`` overwrites only those
        partitions (the rest of the table is neither read nor rewritten); every row of ``df``
        must lie in them, or nothing is committed."""
        path = self.path(table)
        path.parent.mkdir(parents=True, exist_ok=True)
        info = self._commit_metadata(table, run_id, metadata)
        if mode == "append":  # adds rows and replaces none: another run's commit cannot be lost
            self.read_versions.pop(table, None)
        if replace is not None:
            if mode != "overwrite" or partition_by not in (None, replace.column):
                raise LakeError(f"{table}: replace {replace.describe()} overwrites by that column")
            partition_by = replace.column
            self._require_partitioned(table, replace.column)
        layout = Layout(partition_by, replace)
        self._guarded(table, lambda: self._write(df, table, mode, info, layout))
        return self._written(table)

    def deleted_fraction(self, table: str) -> float:
        """The share of ``table``'s stored rows its deletion vectors remove (0 without)."""
        return 0.0

    def table_id(self, table: str) -> str:
        """The Delta table's id: a table dropped and made anew gets another."""
        from deltalake import DeltaTable

        return DeltaTable(str(self.path(table))).metadata().id

    def files_digest(
        self, table: str, version: int, column: str, keep: Callable[[str | None], bool]
    ) -> str:
        """``partitions.files_digest`` of ``table`` at ``version``."""
        from deltalake import DeltaTable

        return files_digest(DeltaTable(str(self.path(table)), version=version), column, keep)

    def partition_columns(self, table: str) -> list[str]:
        """The columns ``table`` is partitioned by ([] for none or no table)."""
        if not self.exists(table):
            return []
        from deltalake import DeltaTable

        return list(DeltaTable(str(self.path(table))).metadata().partition_columns)

    def _require_partitioned(self, table: str, column: str) -> None:
        found = self.partition_columns(table)
        if self.exists(table) and found != [column]:
            raise LakeError(
                f"{table} is partitioned by {found or 'nothing'}, not {column!r}: a partition "
                "replace needs the table laid out by that column; rewrite it whole first"
            )

    def merge(
        self,
        df: DataFrame,
        table: str,
        keys: list[str],
        run_id: str,
        metadata: dict[str, object] | None = None,
    ) -> int:
        """Upsert ``df`` into ``table`` by ``keys`` with one Delta MERGE (matched rows
        updated, new ones inserted, others untouched); creates the table if missing."""
        if not self.exists(table):
            return self.write(df, table, run_id, metadata=metadata)
        info = self._commit_metadata(table, run_id, metadata)
        self._guarded(table, lambda: self._merge(df, table, keys, info))
        return self._written(table)

    def table_lock(self, table: str, timeout_s: float = LOCK_WAIT_S):
        """The one-writer-at-a-time lock of ``table`` (a context manager)."""
        lock = self.root / "_locks" / (table.replace("/", "__") + ".lock")
        return _table_lock(table, lock, timeout_s)

    def check_unchanged(self, table: str) -> None:
        """Raise ``ConcurrentWriteError`` unless ``table`` is at the version this run read
        (call under ``table_lock``); a table this run never read is written blindly."""
        seen = self.read_versions.get(table)
        if seen is None:
            return
        current = self.version(table)
        current = ABSENT if current is None else current
        if current != seen:
            raise ConcurrentWriteError(_conflict_message(table, seen, current, self))

    def commit_metadata(self, table: str, version: int) -> dict[str, str]:
        """The custom metadata (run id, read versions, ...) of one commit of ``table``."""
        found = [v for v in self.history(table) if v.version == version]
        return found[0].metadata if found else {}

    def version_of_run(self, table: str, run_id: str) -> int | None:
        """The newest version of ``table`` committed by ``run_id``; None if it made none."""
        return next((v.version for v in self.history(table) if v.run_id == run_id), None)

    def matching_version(self, table: str, anchor: str) -> int | None:
        """The version of ``table`` written by the run that wrote ``anchor``'s current
        version (tables one stage writes together); None: the current version, when
        ``anchor`` does not exist yet or that run did not write ``table``."""
        if not self.exists(anchor):
            return None
        [newest, *_] = self.history(anchor)
        if newest.run_id is None:
            return None
        return self.version_of_run(table, newest.run_id)

    def _commit_metadata(self, table: str, run_id: str, extra: dict | None) -> dict:
        reads = {name: v for name, v in sorted(self.inputs.items()) if name != table}
        info: dict = {"run_id": run_id, "read_versions": json.dumps(reads)}
        given = {key: v if callable(v) else str(v) for key, v in (extra or {}).items()}
        return given | info  # a caller's keys never replace the run id or the read versions

    def _guarded(self, table: str, action) -> None:
        """Run a write that checks ``check_unchanged`` before its commit; a failure that is
        the disk's (full, read-only) is named as such."""
        from pipelines.lake.errors import io_failure

        try:
            action()
        except LakeError:
            raise
        except Exception as exc:
            failure = io_failure(exc, self.path(table))
            if failure is None:
                raise
            raise failure from exc

    def _written(self, table: str) -> int:
        self.read_versions.pop(table, None)
        written = self.version(table)
        assert written is not None
        return written

    def history(self, table: str) -> list[TableVersion]:
        if not self.exists(table):
            raise TableNotFoundError(f"table {table!r} does not exist under {self.root}")
        from deltalake import DeltaTable

        return [_to_version(entry) for entry in DeltaTable(str(self.path(table))).history()]

    @abstractmethod
    def _read(self, path: Path, version: int | None, partitions: Partitions | None) -> DataFrame:
        """The rows of a version (``partitions``: only theirs, pruned by the log)."""

    @abstractmethod
    def _write(
        self, df: DataFrame, table: str, mode: WriteMode, metadata: dict[str, str], layout: Layout
    ) -> None:
        """Write and commit atomically, the commit under ``table_lock`` after
        ``check_unchanged``: on failure the table stays at its previous version."""

    @abstractmethod
    def _merge(self, df: DataFrame, table: str, keys: list[str], metadata: dict[str, str]) -> None:
        """MERGE by ``keys`` in one commit, likewise guarded: on failure the table stays."""


def resolved(metadata: dict) -> dict[str, str]:
    """Commit metadata with its deferred values computed: call at commit time, after the
    Spark jobs of the write ran."""
    return {key: str(value()) if callable(value) else value for key, value in metadata.items()}


@contextmanager
def _table_lock(table: str, lock: Path, timeout_s: float) -> Iterator[None]:
    try:
        with held(lock, timeout_s) as fd:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}\n".encode())
            yield
    except LockTimeout:
        raise ConcurrentWriteError(
            f"{table} is being written by another run (lock {lock} held for over"
            f" {timeout_s:.0f} s); nothing was written: let that run finish, then re-run"
        ) from None


def _conflict_message(table: str, seen: int, current: int, engine: TableEngine) -> str:
    by = next((v.run_id for v in engine.history(table) if v.version == current), None)
    saw = "no table" if seen == ABSENT else f"version {seen}"
    return (
        f"{table} changed while this run worked: it read {saw}, but version {current}"
        f"{f' (run {by})' if by else ''} was committed since; nothing was written."
        " Re-run the stage: it will start from the new version"
    )


def _to_version(entry: dict) -> TableVersion:
    metadata = {k: v for k, v in entry.items() if isinstance(v, str)}
    if entry.get("userMetadata"):  # delta-spark stores it here
        metadata |= json.loads(entry["userMetadata"])
    return TableVersion(
        version=int(entry["version"]),
        timestamp=datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC),
        operation=str(entry.get("operation", "")),
        run_id=metadata.get("run_id"),
        metadata=metadata,
    )
