"""Configuration of the evaluation stage: which labeled sets to score against."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class EvaluateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # CSV of true duplicate pairs (columns a, b); set: the evaluate stage scores dedup
    dedup_gold: Path | None = None
    # true: the evaluate stage scores item-to-item recs on the [events] source
    recs_items: bool = False
    # true: the evaluate stage scores user recs (popularity, co-occurrence, embeddings, blend)
    recs_users: bool = False
    k: int = Field(default=10, ge=1)
    seed: int = 0
