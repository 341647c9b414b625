"""delta-rs engine: Spark executors write Parquet, the driver commits one Delta transaction.

No jar is needed, and no data written passes through the driver: it lists the new files and
reads only their Parquet footers (row counts for the commit's stats).

Each write stages its files in ``<table>/part-<id>/`` while holding ``<table>/.part-<id>.lock``.
A staging folder that no commit names and whose lock nobody holds was left by a crashed run:
the next write of the table removes it.

A MERGE writes the source rows as new files and marks the rows they replace deleted
(``deletion_vectors``): it costs what changed, not the table.

Reads hand Spark a table's Parquet files where those files are the table: no column mapping,
partition columns only where the files hold them too, deletion vectors applied by a join on
(file, row index) (the engine's own tables). Any other
table (a source another tool wrote) is streamed through deltalake's scan into Parquet in
``<lake root>/_work/snapshots/``, once per table version and process, which holds the
folder's lock until it exits; ``maintain`` sweeps the folders of processes that are gone.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from pipelines.io.workdirs import held, is_held, sweep_workdirs
from pipelines.lake import merge_on_read as mor
from pipelines.lake.base import Layout, TableEngine, WriteMode, resolved
from pipelines.lake.deletion_vectors import add_entry, deleted_rows, deleted_share, merge_commit
from pipelines.lake.errors import LakeError, UnreadableTableError
from pipelines.lake.partitions import (
    STAGING_COLUMN,
    VALUES_IN_DATA,
    Partitions,
    file_partition,
    partition_files,
    removals,
)
from pipelines.runtime.faults import crash_point

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake import DeltaTable
    from deltalake.transaction import AddAction
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

SNAPSHOTS = Path("_work") / "snapshots"
# reader features under which a data file is still plain Parquet of the table's rows
# (deletion vectors only while no file has one; variantType only adds a column type)
PLAIN_READER_FEATURES = frozenset(
    {
        "timestampNtz",
        "v2Checkpoint",
        "vacuumProtocolCheck",
        "deletionVectors",
        "variantType",
        "variantType-preview",
    }
)
# what deltalake's to_pyarrow_dataset reads; it refuses or misreads the rest
ARROW_READER_FEATURES = frozenset({"timestampNtz", "variantType", "variantType-preview"})
SNAPSHOT_ROWS_PER_GROUP = 65_536
SNAPSHOT_ROWS_PER_FILE = 1_048_576

_snapshots: dict[tuple[str, str, str, int], Path] = {}  # (root, table, id, version) -> copy
_owners: list = []  # the held locks of this process's snapshot folders, kept until exit


class DeltaRsEngine(TableEngine):
    def _read(self, path: Path, version: int | None, partitions: Partitions | None) -> DataFrame:
        table = _open(path, version)
        gaps = plain_parquet_gaps(table)
        schema = _spark_schema(table)
        if not gaps:
            files = table.file_uris() if partitions is None else partition_files(table, partitions)
            deleted = deleted_rows(table) if "deletionVectors" in _reader_features(table) else {}
            return mor.without_deleted(self.spark, schema, files, deleted)
        log.info("reading %s through deltalake's scan: its files lack %s", path, "; ".join(gaps))
        copied = sorted(map(str, self._snapshot(table, path).glob("*.parquet")))
        rows = mor.without_deleted(self.spark, schema, copied, {})
        return rows if partitions is None else rows.filter(partitions.predicate())

    def _snapshot(self, table: DeltaTable, path: Path) -> Path:
        """The rows of ``table`` as Parquet under the lake root, copied once per process."""
        parent = self.root / SNAPSHOTS
        key = (str(parent), str(Path(path).resolve()), table.metadata().id, table.version())
        if key not in _snapshots or not _snapshots[key].is_dir():
            _snapshots[key] = _copy(table, path, parent)
        return _snapshots[key]

    def deleted_fraction(self, table: str) -> float:
        if not self.exists(table):
            return 0.0
        return deleted_share(_open(self.path(table), None))

    def arrow_dataset(self, table: str, version: int | None = None) -> ds.Dataset | None:
        delta = _open(self.path(table), version)
        if _column_mapping(delta) or _reader_features(delta) - ARROW_READER_FEATURES:
            return None  # Spark reads it through ``_read``
        return delta.to_pyarrow_dataset()

    def _write(
        self, df: DataFrame, table: str, mode: WriteMode, metadata: dict[str, str], layout: Layout
    ) -> None:
        path = self.path(table)
        sweep_staging(path)
        folder = f"part-{uuid.uuid4().hex}"
        staged = path / folder
        lock = path / f".{folder}.lock"
        try:
            with held(lock):
                self._stage_and_commit(df, table, staged, (mode, layout), metadata)
        finally:
            lock.unlink(missing_ok=True)

    def _stage_and_commit(self, df, table: str, staged: Path, how, metadata) -> None:
        from pyspark.sql.pandas.types import to_arrow_schema

        mode, layout = how
        try:
            _stage(df, staged, layout.partition_by)
            crash_point("lake.before_commit")
            actions = staged_actions(staged, layout)
            schema = to_arrow_schema(df.schema, timezone="UTC")
            with self.table_lock(table):
                self.check_unchanged(table)
                self._commit(table, actions, schema, mode, metadata, layout)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise

    def _commit(self, table: str, actions, schema, mode: WriteMode, metadata, layout) -> None:
        from deltalake import CommitProperties, DeltaTable, Schema
        from deltalake.transaction import create_table_with_add_actions

        path = self.path(table)
        schema = Schema.from_arrow(schema)
        properties = CommitProperties(custom_metadata=resolved(metadata))
        columns = [layout.partition_by] if layout.partition_by else []
        exists = (path / "_delta_log").is_dir()
        if exists and mode == "append" and _partitioned_by(path) != columns:
            raise LakeError(f"{table}: an append must keep the layout {_partitioned_by(path)}")
        if exists and _partitioned_by(path) == columns:
            # built on the version this run read, so Delta's own conflict check applies too
            read = self.read_versions.get(table)
            base = DeltaTable(str(path), version=read if read is not None and read >= 0 else None)
            if layout.replace is not None:  # this version's files of those partitions go
                actions = [*removals(base, layout.replace), *actions]
                mode = "append"
            base.create_write_transaction(
                actions, mode=mode, schema=schema, partition_by=columns or None,
                commit_properties=properties,
            )  # fmt: skip
        else:  # a new table, or a whole overwrite that changes the layout
            create_table_with_add_actions(
                str(path), schema, actions, mode="overwrite" if exists else mode,
                partition_by=columns or None, description=VALUES_IN_DATA if columns else None,
                commit_properties=properties,
            )  # fmt: skip

    def _merge(self, df: DataFrame, table: str, keys: list[str], metadata: dict[str, str]) -> None:
        """MERGE on the executors: the source rows become new files and the rows they replace
        are marked deleted (deletion vectors), so no file of the table is rewritten."""
        path = self.path(table)
        if _partitioned_by(path):
            raise LakeError(f"{table}: MERGE is for unpartitioned tables; replace partitions")
        sweep_staging(path)
        folder = f"part-{uuid.uuid4().hex}"
        staged, lock = path / folder, path / f".{folder}.lock"
        try:
            with held(lock):
                self._stage_and_merge(df, table, staged, keys, metadata)
        finally:
            lock.unlink(missing_ok=True)

    def _stage_and_merge(self, df, table: str, staged: Path, keys: list[str], metadata) -> None:
        from deltalake import DeltaTable

        try:
            df.write.mode("error").parquet(str(staged))
            crash_point("lake.before_commit")
            added = [add_entry(a) for a in staged_actions(staged, Layout())]
            source = self.spark.read.parquet(str(staged)).select(*keys)
            mor.require_unique(source, keys, table)
            with self.table_lock(table):
                self.check_unchanged(table)
                base = DeltaTable(str(self.path(table)))
                files = base.file_uris()
                mor.unique_names(files, table)
                removed = mor.matched_rows(self.spark, _spark_schema(base), files, source, keys)
                version = merge_commit(base, removed, added, resolved(metadata))
                _require_files(self.path(table), version, len(files) + len(added))
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise


def sweep_staging(path: Path) -> list[Path]:
    """Remove staging folders of ``path`` left by crashed writes; returns what was removed."""
    removed = []
    for lock in sorted(path.glob(".part-*.lock")):
        if is_held(lock):
            continue
        folder = path / lock.name.removeprefix(".").removesuffix(".lock")
        if folder.exists() and not _committed(path, folder.name):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        lock.unlink(missing_ok=True)
    return removed


def _committed(path: Path, folder: str) -> bool:
    """Whether any commit in the log (or the current snapshot) names a file of ``folder``."""
    needle = f'"{folder}/'
    log = path / "_delta_log"
    if any(needle in entry.read_text() for entry in log.glob("*.json")):
        return True
    if not log.is_dir():
        return False
    from deltalake import DeltaTable

    return any(f"/{folder}/" in uri for uri in DeltaTable(str(path)).file_uris())


def _stage(df: DataFrame, staged: Path, partition_by: str | None) -> None:
    """Executors write the Parquet files; partitioned, one value per file, column kept."""
    if partition_by is None:
        df.write.mode("error").parquet(str(staged))
        return
    from pyspark.sql import functions as F

    laid_out = df.withColumn(STAGING_COLUMN, F.col(partition_by))
    laid_out.write.mode("error").partitionBy(STAGING_COLUMN).parquet(str(staged))


def staged_actions(staged: Path, layout: Layout) -> list[AddAction]:
    """Add actions of the staged files; a replace refuses a file outside its partitions."""
    files = sorted(staged.rglob("*.parquet"))
    if layout.partition_by is None:
        return [_add_action(f, staged.parent, {}) for f in files]
    column, actions = layout.partition_by, []
    for file in files:
        if pq.ParquetFile(file).metadata.num_rows == 0:
            continue
        value = file_partition(file, column)
        if layout.replace is not None and not layout.replace.holds(value):
            raise LakeError(
                f"a row with {column} = {value!r} lies outside the partitions this write "
                f"replaces ({layout.replace.describe()}); nothing was committed"
            )
        actions.append(_add_action(file, staged.parent, {column: value}))
    return actions


def _add_action(file: Path, table_path: Path, partition_values: dict) -> AddAction:
    from deltalake.transaction import AddAction

    stat = file.stat()
    rows = pq.ParquetFile(file).metadata.num_rows
    return AddAction(
        path=str(file.relative_to(table_path)),
        size=stat.st_size,
        partition_values=partition_values,
        modification_time=int(stat.st_mtime * 1000),
        data_change=True,
        stats=json.dumps({"numRecords": rows}),
    )


def _require_files(path: Path, version: int, expected: int) -> None:
    """A MERGE keeps every data file and adds its own: fewer means a file entry was lost."""
    from deltalake import DeltaTable

    found = len(DeltaTable(str(path), version=version).file_uris())
    if found != expected:
        raise LakeError(
            f"{path} version {version}: the MERGE left {found} data files where {expected} "
            f"were expected; read version {version - 1} (time travel) until this is fixed"
        )


def _partitioned_by(path: Path) -> list[str]:
    from deltalake import DeltaTable

    return list(DeltaTable(str(path)).metadata().partition_columns)


def _open(path: Path, version: int | None) -> DeltaTable:
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    try:
        return DeltaTable(str(path), version=version)
    except DeltaError as exc:
        raise _unreadable(path, version, exc) from exc


def _unreadable(path: Path, version: int | None, exc: Exception) -> UnreadableTableError:
    import deltalake

    at = "" if version is None else f" at version {version}"
    return UnreadableTableError(
        f"deltalake {deltalake.__version__} cannot read the Delta table {path}{at}: {exc}."
        " If that names a table feature, read the table with lake.engine = 'delta-spark'"
        " (Spark's Delta reader) or upgrade deltalake; nothing was read"
    )


def plain_parquet_gaps(table: DeltaTable) -> list[str]:
    """What reading ``table``'s data files as plain Parquet would get wrong; [] for nothing."""
    gaps = []
    columns = table.metadata().partition_columns
    if columns and table.metadata().description != VALUES_IN_DATA:
        gaps.append(f"partition values of {', '.join(columns)}")
    if mode := _column_mapping(table):
        gaps.append(f"column mapping (mode {mode})")
    features = sorted(_reader_features(table) - PLAIN_READER_FEATURES)
    gaps += [f"reader feature {feature}" for feature in features]
    if columns and "deletionVectors" in _reader_features(table):
        gaps.append("deletion vectors of a partitioned table")
    return gaps


def _reader_features(table: DeltaTable) -> set[str]:
    return set(table.protocol().reader_features or ())


def _column_mapping(table: DeltaTable) -> str | None:
    mode = table.metadata().configuration.get("delta.columnMapping.mode", "none")
    return None if mode == "none" else mode


def _spark_schema(table: DeltaTable):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(_arrow_schema(table), prefer_timestamp_ntz=False)


def _arrow_schema(table: DeltaTable) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(table.schema().to_arrow())


def _copy(table: DeltaTable, path: Path, parent: Path) -> Path:
    """Stream ``table`` through deltalake's scan into a new folder of ``parent`` that this
    process owns until it exits (a crash leaves it to ``sweep_workdirs``)."""
    sweep_workdirs(parent)
    name = re.sub(r"[^A-Za-z0-9_-]", "_", Path(path).name)[:40]
    folder = parent / f"{name}-v{table.version()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    owner = held(folder.with_name(folder.name + ".lock"))
    owner.__enter__()
    try:
        _write_scan(table, path, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        owner.__exit__(None, None, None)
        raise
    _owners.append(owner)
    return folder


def _write_scan(table: DeltaTable, path: Path, folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake.exceptions import DeltaError

    schema = _arrow_schema(table)
    try:
        scan = table.scan(columns=schema.names)
    except DeltaError as exc:
        raise _unreadable(path, table.version(), exc) from exc
    # the scan yields view types (string_view); the table's own keep Spark's schema
    rows = pa.RecordBatchReader.from_stream(scan).cast(schema)
    ds.write_dataset(
        rows,
        folder,
        format="parquet",
        basename_template="part-{i}.parquet",
        max_rows_per_group=SNAPSHOT_ROWS_PER_GROUP,
        max_rows_per_file=SNAPSHOT_ROWS_PER_FILE,
    )
