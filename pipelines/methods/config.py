"""Configuration of user vectors and co-occurrence."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UsersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # weight of an event by its type (e.g. view = 1, cart = 3, purchase = 5); other types
    # and events without a type weigh default_event_weight
    event_weights: dict[str, float] = Field(default_factory=dict)
    default_event_weight: float = Field(default=1.0, gt=0.0)
    half_life_days: float = Field(default=30.0, gt=0.0)  # an event's weight halves per half-life
    # share of the user vector taken by the embedded event texts, when a user has any
    text_weight: float = Field(default=0.2, ge=0.0, le=1.0)
    # events later than now + this are quarantined as future_timestamp
    future_skew_minutes: float = Field(default=5.0, ge=0.0)
    # co-occurrence: each user's most recent distinct items that pair with each other
    history_items: int = Field(default=50, ge=2)
    cooccurrence_k: int = Field(default=50, ge=1)
