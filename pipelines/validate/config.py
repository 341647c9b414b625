"""Configuration of the validation gate and the drift check."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ValidateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    norm_tolerance: float = Field(default=0.01, gt=0.0, lt=1.0)  # |L2 norm - 1| allowed
    # share of rows whose exact vector is shared with a row of another text
    max_duplicate_vector_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    sentinels: int = Field(default=200, ge=1)
    sentinel_k: int = Field(default=10, ge=1)
    centroid_shift_warn: float = Field(default=0.02, ge=0.0)  # 1 - cos(old centroid, new)
    centroid_shift_fail: float = Field(default=0.10, ge=0.0)
    # share of sentinels whose top-k neighbours overlap the previous version's by >= half
    stability_warn: float = Field(default=0.90, ge=0.0, le=1.0)
    stability_fail: float = Field(default=0.70, ge=0.0, le=1.0)
