"""What every stage receives: settings, Spark, the lake and the run id; what it returns."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from pipelines.config import Settings
    from pipelines.lake import TableEngine

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

    @property
    def cache_dir(self):
        return self.settings.lake.root / "_models"


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
