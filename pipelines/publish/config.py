"""Configuration of publishing to the vector store."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PublishConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias: str = "catalog"
    collection_prefix: str = "catalog"
    # the user vectors (embed-events) go behind their own alias, through the same gate
    users_alias: str = "users"
    users_collection_prefix: str = "users"
    batch_size: int = Field(default=256, ge=1, le=10000)
    keep_collections: int = Field(default=2, ge=2, description="current + previous at least")
    retry_attempts: int = Field(default=5, ge=1, le=20)
    retry_wait_s: float = Field(default=0.5, ge=0.0)
    retry_max_wait_s: float = Field(default=8.0, ge=0.0)
    timeout_s: int = Field(default=30, ge=1)
    # a whole publish (every store call and its retries) gives up after this many seconds
    deadline_s: float = Field(default=1800.0, ge=1)
    # changes up to this many points are applied to the served collection in place (a kill
    # mid-way shows readers a half-applied version); more are staged in a new collection
    inplace_max_points: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _users_apart_from_catalog(self) -> PublishConfig:
        # pruning drops every collection of a prefix beyond keep_collections
        if self.users_alias == self.alias or self.users_collection_prefix == self.collection_prefix:
            raise ValueError(
                "users_alias and users_collection_prefix must differ from alias and"
                f" collection_prefix (catalog: {self.alias!r}/{self.collection_prefix!r}, users:"
                f" {self.users_alias!r}/{self.users_collection_prefix!r})"
            )
        return self
