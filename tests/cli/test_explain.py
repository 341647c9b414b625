"""The explain-pair waterfall: prior, every field in configured order, the total."""

from __future__ import annotations

import math

from pipelines.cli.explain import waterfall


def _pair(**overrides) -> dict:
    pair = {
        "a": "A", "b": "B", "cosine": 0.9, "decision": "match",
        "field_scores": {"surname": 1.0, "city": float("nan"), "name": 0.85},
        "field_levels": {"surname": 4, "city": -1, "name": 2},
        "field_weights": {"surname": 8.0, "city": 0.0, "name": 3.5},
        "match_weight": 6.5, "match_score": 1 / (1 + 2**-6.5),
    }  # fmt: skip
    return {**pair, **overrides}


def test_the_waterfall_adds_up_to_the_match_weight_in_field_order():
    rows = waterfall(_pair(), ["name", "surname", "city"])
    assert [r["step"] for r in rows] == ["prior (match share)", "name", "surname", "city",
                                         "total: match"]  # fmt: skip
    assert rows[0]["weight"] == 6.5 - 11.5
    assert rows[-2]["running total"] == rows[-1]["weight"] == 6.5
    assert rows[3]["level"] == "missing" and rows[2]["level"] == "identical"
    assert rows[1]["level"] == ">= 0.8"
    assert math.isclose(rows[-1]["probability"], _pair()["match_score"])


def test_weighted_mean_pairs_show_contributions_without_probabilities():
    pair = _pair(field_levels=None, match_weight=None, match_score=0.8, decision="match",
                 field_weights={"surname": 0.5, "name": 0.3, "city": 0.0})  # fmt: skip
    rows = waterfall(pair, ["surname", "name", "city"])
    assert rows[0]["weight"] == 0.0 and rows[-1]["weight"] == 0.8
    assert all(r["probability"] == "" for r in rows)
