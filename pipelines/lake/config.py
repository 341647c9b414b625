"""Configuration of the lake: where tables live and which engine writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EngineName = Literal["delta-rs", "delta-spark"]


class LakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: Path = Path("./lakehouse")
    engine: EngineName = "delta-rs"
    # the maintain stage's VACUUM keeps every version committed within this many hours
    retention_hours: float = Field(default=168.0, ge=0)

    @property
    def reports_dir(self) -> Path:
        """Where the stages' reports and the run reports go, beside the tables."""
        return self.root / "reports"
