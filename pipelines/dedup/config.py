"""Configuration of fuzzy-match deduplication.

``fields`` as a list of column names (recommended) scores each candidate pair with a
Fellegi-Sunter model learned from the data; as a table of column = weight it scores the
weighted mean of field similarities instead (the explicit override).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

# (match, strong) defaults: a match probability, or a weighted mean of similarities
PROBABILITY_THRESHOLDS = (0.9, 0.999)
WEIGHTED_MEAN_THRESHOLDS = (0.75, 0.9)


class DedupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # candidate pairs: neighbour pairs at or above this cosine (lenient: fields decide)
    cosine_threshold: float = Field(default=0.6, ge=-1.0, le=1.0)
    # source columns compared field by field ("text" is the embedded text); empty: the
    # embedded text alone. A table of column = weight overrides the learned model.
    fields: list[str] | dict[str, float] = Field(default_factory=list)
    # of those, fields compared for exact equality (ids, phone numbers) instead of fuzzily
    exact_fields: list[str] = Field(default_factory=list)
    # a pair is a match at or above this score (probability; weighted mean for the table form)
    match_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    # matches at or above this join clusters through each other; weaker ones only link
    # two groups whose every cross pair matches (no chaining through weak bridges)
    strong_match_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    # a common value (a big city, a frequent surname) agreeing says less than a rare one
    term_frequency: bool = True
    # labelled duplicate pairs (CSV a,b): m from them instead of EM
    gold_pairs: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DedupConfig:
        names = self.field_names()
        if len(set(names)) != len(names) or any(not name.strip() for name in names):
            raise ValueError(f"dedup.fields {names} must be distinct, non-empty column names")
        unknown = [name for name in self.exact_fields if name not in names]
        if unknown:
            raise ValueError(
                f"dedup.exact_fields {unknown} are not in dedup.fields {names}; list them there"
            )
        if isinstance(self.fields, dict) and any(w <= 0 for w in self.fields.values()):
            raise ValueError("dedup.fields weights must be > 0 (or give a list of column names)")
        if self.strong_threshold() < self.threshold():
            raise ValueError("dedup.strong_match_threshold must be >= dedup.match_threshold")
        return self

    @property
    def learned(self) -> bool:
        """True: the Fellegi-Sunter model; False: the weighted mean of explicit weights."""
        return not isinstance(self.fields, dict) or not self.fields

    def field_names(self) -> list[str]:
        return list(self.fields) or ["text"]

    def weights(self) -> dict[str, float]:
        if isinstance(self.fields, dict) and self.fields:
            return dict(self.fields)
        return dict.fromkeys(self.field_names(), 1.0)

    def _defaults(self) -> tuple[float, float]:
        return PROBABILITY_THRESHOLDS if self.learned else WEIGHTED_MEAN_THRESHOLDS

    def threshold(self) -> float:
        return self.match_threshold if self.match_threshold is not None else self._defaults()[0]

    def strong_threshold(self) -> float:
        if self.strong_match_threshold is not None:
            return self.strong_match_threshold
        return max(self._defaults()[1], self.threshold())
