"""Configuration of the lake: where tables live and which engine writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

EngineName = Literal["delta-rs", "delta-spark"]


class LakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: Path = Path("./lakehouse")
    engine: EngineName = "delta-rs"
