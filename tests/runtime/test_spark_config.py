"""Spark logs at WARN through jobs/log4j2.properties: the driver's JVM is told so in
``spark.driver.extraJavaOptions``, next to any options a user set there."""

from __future__ import annotations

from pipelines.runtime.spark_config import DRIVER_JAVA_OPTIONS, LOG_CONFIG, with_log_config

FLAG = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"


def test_the_shipped_file_sets_spark_to_warn():
    text = LOG_CONFIG.read_text()
    assert "rootLogger.level = warn" in text


def test_the_driver_is_pointed_at_the_file():
    conf = with_log_config({"spark.executor.memory": "2g"})
    assert conf == {"spark.executor.memory": "2g", DRIVER_JAVA_OPTIONS: FLAG}


def test_a_users_java_options_are_kept():
    conf = with_log_config({DRIVER_JAVA_OPTIONS: "-XX:+UseG1GC"})
    assert conf[DRIVER_JAVA_OPTIONS] == f"-XX:+UseG1GC {FLAG}"


def test_a_users_own_log4j2_file_wins():
    own = {DRIVER_JAVA_OPTIONS: "-Dlog4j2.configurationFile=/etc/spark/log4j2.properties"}
    assert with_log_config(own) == own


def test_without_the_file_spark_keeps_its_defaults(tmp_path):
    assert with_log_config({}, tmp_path / "missing.properties") == {}


def test_the_tests_spark_session_was_started_with_it(spark):
    options = spark.sparkContext.getConf().get(DRIVER_JAVA_OPTIONS, "")
    assert FLAG in options
