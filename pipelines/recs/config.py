"""Configuration of the recommendation stages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RecsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items_top_n: int = Field(default=10, ge=1)
    users_top_n: int = Field(default=10, ge=1)
    # user recs: score = (1 - w) * embedding similarity + w * co-occurrence with the user's
    # recent items, each scaled to 0..1 per user; 0 is embeddings alone, 1 co-occurrence alone
    cooccurrence_weight: float = Field(default=0.9, ge=0.0, le=1.0)
    recent_items: int = Field(default=5, ge=1)  # the user's latest items that vote
