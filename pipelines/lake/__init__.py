"""The lake: Delta tables behind one small engine interface (delta-rs or delta-spark)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.lake.base import TableEngine, TableVersion
from pipelines.lake.config import LakeConfig
from pipelines.lake.errors import LakeError, TableNotFoundError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def open_lake(spark: SparkSession, config: LakeConfig) -> TableEngine:
    root = Path(config.root)
    if config.engine == "delta-spark":
        from pipelines.lake.delta_spark import DeltaSparkEngine

        return DeltaSparkEngine(spark, root)
    from pipelines.lake.delta_rs import DeltaRsEngine

    return DeltaRsEngine(spark, root)


__all__ = [
    "LakeConfig",
    "LakeError",
    "TableEngine",
    "TableNotFoundError",
    "TableVersion",
    "open_lake",
]
