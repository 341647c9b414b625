"""delta-rs engine: Spark executors write Parquet, the driver commits one Delta transaction.

No jar is needed, and no table data passes through the driver: it lists the new files and
reads only their Parquet footers (row counts for the commit's stats).

Each write stages its files in ``<table>/part-<id>/`` while holding ``<table>/.part-<id>.lock``.
A staging folder that no commit names and whose lock nobody holds was left by a crashed run:
the next write of the table removes it.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from pipelines.io.workdirs import held, is_held
from pipelines.lake.base import TableEngine, WriteMode
from pipelines.runtime.faults import crash_point

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    from deltalake.transaction import AddAction
    from pyspark.sql import DataFrame


class DeltaRsEngine(TableEngine):
    def _read(self, path: Path, version: int | None) -> DataFrame:
        import pyarrow as pa
        from deltalake import DeltaTable
        from pyspark.sql.pandas.types import from_arrow_schema

        table = DeltaTable(str(path), version=version)
        schema = from_arrow_schema(pa.schema(table.schema().to_arrow()), prefer_timestamp_ntz=False)
        files = table.file_uris()
        if not files:
            return self.spark.createDataFrame([], schema)
        return self.spark.read.schema(schema).parquet(*files)

    def arrow_dataset(self, table: str, version: int | None = None) -> ds.Dataset:
        from deltalake import DeltaTable

        return DeltaTable(str(self.path(table)), version=version).to_pyarrow_dataset()

    def _write(self, df: DataFrame, table: str, mode: WriteMode, metadata: dict[str, str]) -> None:
        path = self.path(table)
        sweep_staging(path)
        folder = f"part-{uuid.uuid4().hex}"
        staged = path / folder
        lock = path / f".{folder}.lock"
        try:
            with held(lock):
                self._stage_and_commit(df, table, staged, mode, metadata)
        finally:
            lock.unlink(missing_ok=True)

    def _stage_and_commit(self, df, table: str, staged: Path, mode, metadata) -> None:
        from pyspark.sql.pandas.types import to_arrow_schema

        try:
            df.write.mode("error").parquet(str(staged))
            crash_point("lake.before_commit")
            actions = [_add_action(f, staged.parent) for f in sorted(staged.glob("*.parquet"))]
            schema = to_arrow_schema(df.schema, timezone="UTC")
            with self.table_lock(table):
                self.check_unchanged(table)
                self._commit(table, actions, schema, mode, metadata)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise

    def _commit(self, table: str, actions, schema, mode: WriteMode, metadata) -> None:
        from deltalake import CommitProperties, DeltaTable, Schema
        from deltalake.transaction import create_table_with_add_actions

        path = self.path(table)
        schema = Schema.from_arrow(schema)
        properties = CommitProperties(custom_metadata=metadata)
        if (path / "_delta_log").is_dir():
            # built on the version this run read, so Delta's own conflict check applies too
            read = self.read_versions.get(table)
            base = DeltaTable(str(path), version=read if read is not None and read >= 0 else None)
            base.create_write_transaction(
                actions, mode=mode, schema=schema, commit_properties=properties
            )
        else:
            create_table_with_add_actions(
                str(path), schema, actions, mode=mode, commit_properties=properties
            )

    def _merge(self, df: DataFrame, table: str, keys: list[str], metadata: dict[str, str]) -> None:
        """delta-rs merges from Arrow on the driver: meant for small upserts (an interval's
        changed rows), not for rewriting whole tables (``write`` does that)."""
        from deltalake import CommitProperties, DeltaTable

        source = df.toArrow()
        predicate = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        with self.table_lock(table):
            self.check_unchanged(table)
            (
                DeltaTable(str(self.path(table)))
                .merge(
                    source,
                    predicate,
                    source_alias="s",
                    target_alias="t",
                    error_on_type_mismatch=False,
                    commit_properties=CommitProperties(custom_metadata=metadata),
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )


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


def _add_action(file: Path, table_path: Path) -> AddAction:
    from deltalake.transaction import AddAction

    stat = file.stat()
    rows = pq.ParquetFile(file).metadata.num_rows
    return AddAction(
        path=str(file.relative_to(table_path)),
        size=stat.st_size,
        partition_values={},
        modification_time=int(stat.st_mtime * 1000),
        data_change=True,
        stats=json.dumps({"numRecords": rows}),
    )
