"""Configuration of the Spark session, and the log settings every driver starts with."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

# Spark at WARN: without it a job's log opens with ~50 INFO lines of Spark's start-up
LOG_CONFIG = Path(__file__).resolve().parents[2] / "jobs" / "log4j2.properties"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"


class SparkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    master: str = "local[*]"
    app_name: str = "pipelines"
    conf: dict[str, str] = Field(default_factory=dict)


def with_log_config(conf: dict[str, str], path: Path = LOG_CONFIG) -> dict[str, str]:
    """``conf`` whose driver JVM reads its log4j2 settings from ``path``; a log4j2 file the
    conf already names wins, and without ``path`` (an install without jobs/) nothing changes."""
    options = conf.get(DRIVER_JAVA_OPTIONS, "")
    if "log4j2.configurationFile" in options or not path.is_file():
        return dict(conf)
    flag = f"-Dlog4j2.configurationFile={path.as_uri()}"
    return {**conf, DRIVER_JAVA_OPTIONS: f"{options} {flag}".strip()}
