"""Configuration of the recommendation stages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ITEM_RECS_TABLE = "recs/item_to_item"


class RecsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items_top_n: int = Field(default=10, ge=1)
