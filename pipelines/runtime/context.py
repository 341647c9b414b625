"""What every stage receives: settings, Spark, the lake and the run id; what it returns."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from pipelines.config import Settings
    from pipelines.lake import TableEngine
    from pipelines.vectorstore import VectorStore

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def new_run_id(prefix: str = "manual") -> str:
    return f"{prefix}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"


def safe_run_id(run_id: str) -> str:
    """Airflow run ids hold ':' and '+'; collection and file names cannot."""
    return _SAFE.sub("_", run_id)


@dataclass
class RunContext:
    settings: Settings
    spark: SparkSession
    lake: TableEngine
    run_id: str
    full_refresh: bool = False
    # a run may tombstone more than [catalog] max_delete_fraction of the live rows
    allow_mass_delete: bool = False
    # who accepts this run's version past a failed drift check (None: nobody)
    accept_drift: str | None = None
    # a scheduled run's data interval [start, end): stages that read events take only these
    interval: tuple[datetime, datetime] | None = None
    _store: VectorStore | None = field(default=None, repr=False)

    @property
    def store(self) -> VectorStore:
        """The vector store, opened on first use (embedded Qdrant allows one client per path)."""
        if self._store is None:
            from pipelines.vectorstore import open_store

            self._store = open_store(self.settings)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def write_stamped(self, df, table: str) -> tuple[int, int]:
        """Write ``df`` with this run's id in a ``run_id`` column; (version, rows written)."""
        from pyspark.sql import functions as F

        version = self.lake.write(df.withColumn("run_id", F.lit(self.run_id)), table, self.run_id)
        return version, self.lake.read(table, version).count()

    @property
    def cache_dir(self) -> Path:
        return self.settings.lake.root / "_models"

    @property
    def reports_dir(self) -> Path:
        return self.settings.lake.reports_dir

    def workdir(self, kind: str, name: str, parent: Path | None = None):
        """A working folder of this run under ``<lake>/_work/<kind>`` (or ``parent``), removed
        after the block; what crashed runs left there is swept first."""
        from pipelines.io.workdirs import stage_workdir

        return stage_workdir(parent or self.settings.lake.root / "_work" / kind, name)


@dataclass
class StageResult:
    stage: str
    rows_read: int = 0
    embedded: int = 0
    skipped: int = 0
    quarantined: int = 0
    tombstoned: int = 0
    seconds: float = 0.0
    table_version: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
