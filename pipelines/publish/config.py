"""Configuration of publishing to the vector store."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PublishConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias: str = "catalog"
    collection_prefix: str = "catalog"
    batch_size: int = Field(default=256, ge=1, le=10000)
    keep_collections: int = Field(default=2, ge=2, description="current + previous at least")
    retry_attempts: int = Field(default=5, ge=1, le=20)
    retry_wait_s: float = Field(default=0.5, ge=0.0)
    retry_max_wait_s: float = Field(default=8.0, ge=0.0)
    timeout_s: int = Field(default=30, ge=1)
