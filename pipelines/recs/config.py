"""Configuration of the recommendation stages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_BLEND_GRID = [0.0, 0.25, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0]


class RecsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items_top_n: int = Field(default=10, ge=1)
    users_top_n: int = Field(default=10, ge=1)
    # user recs: score = (1 - w) * embedding similarity + w * co-occurrence with the user's
    # recent items, each scaled to 0..1 per user; 0 is embeddings alone, 1 co-occurrence alone.
    # None: recs-users picks w from blend_grid on a validation split of the events
    cooccurrence_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    blend_grid: list[float] = Field(default_factory=lambda: list(DEFAULT_BLEND_GRID))
    # fewer users with two or more events than this: no tuning, w = 0.9
    blend_min_users: int = Field(default=20, ge=1)
    recent_items: int = Field(default=5, ge=1)  # the user's latest items that vote
    # user recs score the items in staged blocks of this many rows; a task holds one block
    # of item vectors and 256 users x item_block_rows scores at a time
    item_block_rows: int = Field(default=16384, ge=1)

    @field_validator("blend_grid")
    @classmethod
    def _grid(cls, grid: list[float]) -> list[float]:
        if not grid:
            raise ValueError("needs at least one weight, e.g. [0.0, 0.5, 0.9, 1.0]")
        outside = [w for w in grid if not 0.0 <= w <= 1.0]
        if outside:
            raise ValueError(f"weights must lie in 0..1; {outside} do not")
        if grid != sorted(set(grid)):
            raise ValueError(f"must be ascending without repeats, e.g. {sorted(set(grid))}")
        return grid
