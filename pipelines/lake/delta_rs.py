"""delta-rs engine: Spark executors write Parquet, the driver commits one Delta transaction.

No jar is needed, and no table data passes through the driver: it lists the new files and
reads only their Parquet footers (row counts for the commit's stats).
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from pipelines.lake.base import TableEngine, WriteMode

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    from deltalake.transaction import AddAction
    from pyspark.sql import DataFrame


class DeltaRsEngine(TableEngine):
    name = "delta-rs"

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

    def _write(self, df: DataFrame, path: Path, mode: WriteMode, metadata: dict[str, str]) -> None:
        from pyspark.sql.pandas.types import to_arrow_schema

        folder = f"part-{uuid.uuid4().hex}"
        staged = path / folder
        try:
            df.write.mode("error").parquet(str(staged))
            actions = [_add_action(file, path) for file in sorted(staged.glob("*.parquet"))]
            self._commit(path, actions, to_arrow_schema(df.schema, timezone="UTC"), mode, metadata)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise

    def _commit(self, path, actions, schema, mode: WriteMode, metadata: dict[str, str]) -> None:
        from deltalake import CommitProperties, DeltaTable, Schema
        from deltalake.transaction import create_table_with_add_actions

        schema = Schema.from_arrow(schema)
        properties = CommitProperties(custom_metadata=metadata)
        if (path / "_delta_log").is_dir():
            DeltaTable(str(path)).create_write_transaction(
                actions, mode=mode, schema=schema, commit_properties=properties
            )
        else:
            create_table_with_add_actions(
                str(path), schema, actions, mode=mode, commit_properties=properties
            )

    def _merge(self, df: DataFrame, path: Path, keys: list[str], metadata: dict[str, str]) -> None:
        """delta-rs merges from Arrow on the driver: meant for small upserts (an interval's
        changed rows), not for rewriting whole tables (``write`` does that)."""
        from deltalake import CommitProperties, DeltaTable

        predicate = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        (
            DeltaTable(str(path))
            .merge(
                df.toArrow(),
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
