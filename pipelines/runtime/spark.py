"""The one place a SparkSession is built, from ``SparkConfig``."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from pipelines.runtime.spark_config import SparkConfig, with_log_config

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Defaults a user's [spark.conf] may override.
BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # delta-rs and other readers understand microsecond timestamps, not Spark's legacy INT96
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2048",
    "spark.python.worker.reuse": "true",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.showConsoleProgress": "false",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.hadoop.parquet.enable.summary-metadata": "false",
    # embedding floats never repeat: a dictionary attempt only burns CPU the encoder needs
    "spark.hadoop.parquet.enable.dictionary#vector.list.element": "false",
}


def build_spark(config: SparkConfig) -> SparkSession:
    from pyspark.sql import SparkSession

    # executors' Python must be the driver's (the venv with torch and the model)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # under spark-submit, its --master wins
        builder = builder.master(config.master).appName(config.app_name)
    # a session started here starts its JVM with this conf; under spark-submit the JVM is
    # spark-submit's, and its --conf (SparkJobOperator) chose the log settings
    for key, value in with_log_config({**BASE_CONF, **config.conf}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # py4j logs each closed gateway connection at INFO, after a job's last line
    logging.getLogger("py4j").setLevel(logging.WARNING)
    return spark


def task_threads(spark: SparkSession) -> int:
    """Intra-op threads one task may use: ``spark.task.cpus`` (a slot is one core)."""
    return int(spark.conf.get("spark.task.cpus", "1") or 1)
