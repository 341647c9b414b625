"""delta-spark engine: Spark's native ``format("delta")``, for clusters that have the jar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.lake.base import Layout, TableEngine, WriteMode, resolved
from pipelines.lake.errors import EngineUnavailableError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from pipelines.lake.partitions import Partitions

DELTA_CLASS = "io.delta.tables.DeltaTable"


def delta_jar_available(spark: SparkSession) -> bool:
    try:
        spark.sparkContext._jvm.java.lang.Class.forName(DELTA_CLASS)
    except Exception:
        return False
    return True


class DeltaSparkEngine(TableEngine):
    deferred_metadata = False  # the Delta commit is the write job itself

    def __init__(self, spark: SparkSession, root: Path):
        if not delta_jar_available(spark):
            raise EngineUnavailableError(
                "lake.engine = 'delta-spark' needs the delta-spark jar on Spark's classpath"
                f" (class {DELTA_CLASS} not found): add it with spark.jars or"
                " spark.jars.packages = 'io.delta:delta-spark_2.13:4.0.0' under [spark.conf],"
                " or use lake.engine = 'delta-rs', which needs no jar"
            )
        super().__init__(spark, root)

    def _read(self, path: Path, version: int | None, partitions: Partitions | None) -> DataFrame:
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        rows = reader.load(str(path))
        return rows if partitions is None else rows.filter(partitions.predicate())

    def _write(
        self, df: DataFrame, table: str, mode: WriteMode, metadata: dict[str, str], layout: Layout
    ) -> None:
        writer = df.write.format("delta").mode(mode)
        writer = writer.option("userMetadata", json.dumps(resolved(metadata)))
        if layout.partition_by:
            writer = writer.partitionBy(layout.partition_by)
        if layout.replace is not None:  # Delta refuses rows outside the predicate
            writer = writer.option("replaceWhere", layout.replace.predicate())
        else:
            writer = writer.option("overwriteSchema", str(mode == "overwrite").lower())
        # Spark writes and commits in one job: the lock spans it, so no commit slips between
        with self.table_lock(table):
            self.check_unchanged(table)
            writer.save(str(self.path(table)))

    def _merge(self, df: DataFrame, table: str, keys: list[str], metadata: dict[str, str]) -> None:
        from delta.tables import DeltaTable

        condition = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        conf = "spark.databricks.delta.commitInfo.userMetadata"
        self.spark.conf.set(conf, json.dumps(resolved(metadata)))
        try:
            with self.table_lock(table):
                self.check_unchanged(table)
                (
                    DeltaTable.forPath(self.spark, str(self.path(table)))
                    .alias("t")
                    .merge(df.alias("s"), condition)
                    .whenMatchedUpdateAll()
                    .whenNotMatchedInsertAll()
                    .execute()
                )
        finally:
            self.spark.conf.unset(conf)
