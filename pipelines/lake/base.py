"""The table engine interface: Spark DataFrames in and out of Delta tables.

Template methods here validate names, stamp the run id and keep history engine-agnostic (both
engines write the same Delta protocol, so ``deltalake`` reads any table's log); an engine only
implements ``_read`` and ``_write``.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipelines.lake.errors import LakeError, TableNotFoundError

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    from pyspark.sql import DataFrame, SparkSession

WriteMode = Literal["overwrite", "append"]
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True)
class TableVersion:
    version: int
    timestamp: datetime
    operation: str
    run_id: str | None


class TableEngine(ABC):
    name: str = "abstract"

    def __init__(self, spark: SparkSession, root: Path):
        self.spark = spark
        self.root = Path(root)

    def path(self, table: str) -> Path:
        if not _TABLE_NAME.match(table):
            raise LakeError(
                f"table name {table!r} is not valid; use lower-case words joined by '/',"
                " such as 'embeddings/catalog'"
            )
        return self.root / table

    def exists(self, table: str) -> bool:
        return (self.path(table) / "_delta_log").is_dir()

    def version(self, table: str) -> int | None:
        if not self.exists(table):
            return None
        from deltalake import DeltaTable

        return DeltaTable(str(self.path(table))).version()

    def read(self, table: str, version: int | None = None) -> DataFrame:
        if not self.exists(table):
            raise TableNotFoundError(
                f"table {table!r} does not exist under {self.root}; run the stage that writes it"
            )
        return self._read(self.path(table), version)

    def read_path(self, path: Path, version: int | None = None) -> DataFrame:
        """Read a Delta table outside the lake (a source), by its folder."""
        return self._read(Path(path), version)

    def arrow_dataset(self, table: str, version: int | None = None) -> ds.Dataset | None:
        """A table version as a pyarrow dataset the driver reads itself, with no Spark job;
        None where this engine reads only through Spark."""
        return None

    def write(self, df: DataFrame, table: str, run_id: str, mode: WriteMode = "overwrite") -> int:
        """Write ``df`` in one Delta commit carrying ``run_id``; returns the new version."""
        path = self.path(table)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write(df, path, mode, {"run_id": run_id})
        written = self.version(table)
        assert written is not None
        return written

    def merge(self, df: DataFrame, table: str, keys: list[str], run_id: str) -> int:
        """Upsert ``df`` into ``table`` by ``keys`` with one Delta MERGE (matched rows
        updated, new ones inserted, others untouched); creates the table if missing."""
        if not self.exists(table):
            return self.write(df, table, run_id)
        self._merge(df, self.path(table), keys, {"run_id": run_id})
        merged = self.version(table)
        assert merged is not None
        return merged

    def history(self, table: str) -> list[TableVersion]:
        if not self.exists(table):
            raise TableNotFoundError(f"table {table!r} does not exist under {self.root}")
        from deltalake import DeltaTable

        return [_to_version(entry) for entry in DeltaTable(str(self.path(table))).history()]

    @abstractmethod
    def _read(self, path: Path, version: int | None) -> DataFrame: ...

    @abstractmethod
    def _write(self, df: DataFrame, path: Path, mode: WriteMode, metadata: dict[str, str]) -> None:
        """Write and commit atomically: on failure the table stays at its previous version."""

    @abstractmethod
    def _merge(self, df: DataFrame, path: Path, keys: list[str], metadata: dict[str, str]) -> None:
        """MERGE by ``keys`` in one commit: on failure the table stays as it was."""


def _to_version(entry: dict) -> TableVersion:
    run_id = entry.get("run_id")
    if run_id is None and entry.get("userMetadata"):  # delta-spark stores it here
        run_id = json.loads(entry["userMetadata"]).get("run_id")
    return TableVersion(
        version=int(entry["version"]),
        timestamp=datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC),
        operation=str(entry.get("operation", "")),
        run_id=run_id,
    )
