"""The blend weight chosen on held-out events, on data built so that one side is right: the
held-out item is reachable only through co-occurrence, or only through embeddings."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from pipelines.methods.config import UsersConfig
from pipelines.methods.recommend import Scoring
from pipelines.methods.tuning import (
    CONFIG,
    DEFAULT_BLEND_WEIGHT,
    TOO_FEW,
    VALIDATION,
    best_weight,
    choose_blend,
)
from pipelines.recs.config import RecsConfig

EVENTS = "user_id string, item_id string, event_type string, event_time timestamp"
ITEMS = "item_id string, vector array<float>"
GRID = [0.0, 0.5, 1.0]
rng = np.random.default_rng(7)


def _unit(vector: np.ndarray) -> list[float]:
    return (vector / np.linalg.norm(vector)).tolist()


def _history(user: str, items: list[str]) -> list[tuple]:
    return [(user, item, "view", datetime(2026, 1, day + 1)) for day, item in enumerate(items)]


def cooccurrence_wins(spark):
    """8 triples (a, b, c), each user a rotation of one: the held-out third item co-occurs
    with both trained ones in other users' histories, while an untouched decoy sits at the
    mean of the triple's vectors, nearer the user's vector than any triple item."""
    vectors, events = {}, []
    for g in range(8):
        triple = [f"g{g}{x}" for x in "abc"]
        raw = {item: rng.normal(size=32) for item in triple}
        vectors.update({item: _unit(v) for item, v in raw.items()})
        vectors[f"g{g}decoy"] = _unit(sum(raw.values()))
        for r in range(3):
            events += _history(f"U{g}{r}", triple[r:] + triple[:r])
    return _frames(spark, vectors, events)


def embeddings_win(spark):
    """24 users of 3 shared items: each user's held-out item lies at the mean of the user's
    two items and co-occurs with nothing, while co-occurrence through the shared item points
    to 7 other users' own items."""
    vectors = {f"p{j}": rng.normal(size=32) for j in range(3)}
    events = []
    for u in range(24):
        vectors[f"x{u}"] = rng.normal(size=32)
        vectors[f"t{u}"] = vectors[f"p{u % 3}"] + vectors[f"x{u}"]
        events += _history(f"U{u}", [f"p{u % 3}", f"x{u}", f"t{u}"])
    return _frames(spark, {item: _unit(v) for item, v in vectors.items()}, events)


def _frames(spark, vectors: dict, events: list):
    items = spark.createDataFrame(list(vectors.items()), ITEMS)
    return spark.createDataFrame(events, EVENTS), items


def _tune(spark, tmp_path, data, **recs):
    events, items = data(spark)
    cfg = RecsConfig(users_top_n=1, blend_grid=GRID, **recs)
    return choose_blend(events, Scoring(items, None, UsersConfig(), cfg), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("data", "right", "wrong"), [(cooccurrence_wins, 1.0, 0.0),
                                                      (embeddings_win, 0.0, 1.0)])  # fmt: skip
def test_tuning_picks_the_side_that_finds_the_held_out_items(spark, tmp_path, data, right, wrong):
    choice = _tune(spark, tmp_path, data)
    assert (choice.source, choice.weight, choice.users) == (VALIDATION, right, 24)
    assert choice.hit_rates[right] == 1.0 and choice.hit_rates[wrong] == 0.0
    details = choice.details()
    assert details["validation_hr_at_1"] == 1.0 and details["blend_source"] == VALIDATION
    assert set(details["validation_grid"]) == {"0", "0.5", "1"}


def test_too_few_users_keep_the_default_weight(spark, tmp_path):
    choice = _tune(spark, tmp_path, cooccurrence_wins, blend_min_users=25)
    assert (choice.weight, choice.source, choice.users) == (DEFAULT_BLEND_WEIGHT, TOO_FEW, 24)
    assert choice.details()["validation_grid"] == {}


def test_a_configured_weight_is_used_without_tuning(tmp_path):
    cfg = RecsConfig(cooccurrence_weight=0.3)
    choice = choose_blend(None, Scoring(None, None, UsersConfig(), cfg), tmp_path)  # no data
    assert choice.details() == {
        "cooccurrence_weight": 0.3,
        "blend_source": CONFIG,
        "validation_hr_at_10": None,
        "validation_grid": {},
        "validation_users": None,
        "validation_standard_error": None,
    }


def test_a_lead_within_one_standard_error_is_a_tie_won_by_the_default_then_the_larger():
    # 100 users, best 0.70: standard error sqrt(0.7 * 0.3 / 100) = 0.0458
    assert best_weight({0.0: 30, 0.5: 70, 1.0: 60}, users=100) == 0.5  # 0.60 < 0.70 - 0.0458
    assert best_weight({0.0: 30, 0.5: 70, 1.0: 66}, users=100) == 1.0  # 0.66 is within
    assert best_weight({0.5: 7000, 1.0: 6600}, users=10_000) == 0.5  # standard error 0.0046
    assert best_weight({0.0: 7, 0.8: 7, 1.0: 7}, users=10) == 1.0  # 0.8, 1.0 equally near 0.9
    assert best_weight({0.0: 7, 0.95: 7, 1.0: 7}, users=10) == 0.95
    assert best_weight({0.0: 10, 1.0: 0}, users=10) == 0.0  # all hit: no noise at all
