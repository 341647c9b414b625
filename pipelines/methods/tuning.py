"""Choosing the co-occurrence / embedding blend weight on the user's own events: each user's
last event is held out, vectors and co-occurrence are rebuilt from the rest, and the grid
weight whose lists hold the most held-out items wins, unless its lead is within the noise."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame

from pipelines.methods.holdout import EVENT_COLUMNS, hit_counts, hold_out_last
from pipelines.methods.recommend import Scoring, recommend_from_events

# kept where the data cannot tell (too few users, or a lead within the noise); the best fixed
# weight on MovieLens-100k
DEFAULT_BLEND_WEIGHT = 0.9
CONFIG = "config"
VALIDATION = "validation"
TOO_FEW = "default (too few users to tune)"


@dataclass(frozen=True)
class BlendChoice:
    weight: float
    source: str  # CONFIG, VALIDATION or TOO_FEW
    k: int  # hit rates are HR@k, k = the length of the served lists
    hit_rates: dict[float, float] = field(default_factory=dict)  # grid weight -> validation HR
    users: int | None = None  # validation users: those with two or more events

    def details(self) -> dict:
        return {
            "cooccurrence_weight": self.weight,
            "blend_source": self.source,
            f"validation_hr_at_{self.k}": _rounded(self.hit_rates.get(self.weight)),
            "validation_grid": {f"{w:g}": _rounded(hr) for w, hr in self.hit_rates.items()},
            "validation_users": self.users,
            "validation_standard_error": _rounded(self._standard_error()),
        }

    def _standard_error(self) -> float | None:
        if not self.hit_rates:
            return None
        return standard_error(max(self.hit_rates.values()), self.users)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def standard_error(rate: float, users: int) -> float:
    """Of a hit rate measured on ``users`` users (binomial)."""
    return math.sqrt(rate * (1.0 - rate) / users)


def best_weight(hits: Mapping[float, int], users: int) -> float:
    """The one-standard-error rule: every weight whose hit rate is within one standard error
    of the best one's is as good (a smaller lead is noise at this many users); of those, the
    weight nearest the default, then the larger one."""
    top = max(hits.values()) / users
    tied = [w for w, n in hits.items() if n / users >= top - standard_error(top, users)]
    return min(tied, key=lambda w: (round(abs(w - DEFAULT_BLEND_WEIGHT), 9), -w))


def tune_blend(events: DataFrame, scoring: Scoring, staging: Path) -> BlendChoice:
    """best_weight of ``blend_grid`` by HR@``users_top_n`` on a leave-last-out split of
    ``events`` (user_id, item_id, event_type, event_time), all weights scored in one pass."""
    cfg = scoring.cfg
    k = cfg.users_top_n
    split = hold_out_last(events.select(*EVENT_COLUMNS))
    train, held = split.train.persist(), split.held.persist()
    try:
        users = held.count()
        if users < cfg.blend_min_users:
            return BlendChoice(DEFAULT_BLEND_WEIGHT, TOO_FEW, k, users=users)
        recs = recommend_from_events(train, scoring, staging, cfg.blend_grid)
        found = hit_counts(recs, held, k)
    finally:
        train.unpersist()
        held.unpersist()
    hits = {w: found.get(w, 0) for w in cfg.blend_grid}
    rates = {w: n / users for w, n in hits.items()}
    return BlendChoice(best_weight(hits, users), VALIDATION, k, rates, users)


def choose_blend(events: DataFrame, scoring: Scoring, staging: Path) -> BlendChoice:
    """``recs.cooccurrence_weight`` when set (no tuning), else tune_blend's choice."""
    cfg = scoring.cfg
    if cfg.cooccurrence_weight is not None:
        return BlendChoice(cfg.cooccurrence_weight, CONFIG, cfg.users_top_n)
    return tune_blend(events, scoring, staging)
