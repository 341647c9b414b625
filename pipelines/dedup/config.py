"""Configuration of fuzzy-match deduplication."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DedupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # candidate pairs: neighbour pairs at or above this cosine (lenient: fields decide)
    cosine_threshold: float = Field(default=0.6, ge=-1.0, le=1.0)
    # source columns compared field by field, with their weights; "text" is the embedded
    # text. Empty: the embedded text alone.
    fields: dict[str, float] = Field(default_factory=dict)
    # of those, fields compared for exact equality (ids, phone numbers) instead of fuzzily
    exact_fields: list[str] = Field(default_factory=list)
    # accepted when the weighted mean of field similarities (0..1) reaches this
    match_threshold: float = Field(default=0.75, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _exact_fields_are_fields(self) -> DedupConfig:
        unknown = [name for name in self.exact_fields if name not in self.fields]
        if unknown:
            raise ValueError(
                f"dedup.exact_fields {unknown} are not in dedup.fields; give each a weight there"
            )
        if any(weight <= 0 for weight in self.fields.values()):
            raise ValueError("dedup.fields weights must be > 0")
        return self

    def weights(self) -> dict[str, float]:
        return self.fields or {"text": 1.0}
