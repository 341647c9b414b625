"""Configuration of the Spark session."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SparkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    master: str = "local[*]"
    app_name: str = "pipelines"
    conf: dict[str, str] = Field(default_factory=dict)
