"""Evaluation metrics on toy cases small enough to compute by hand (arithmetic in comments)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.evaluate import metrics


def test_pairwise_scores_unordered_duplicates_and_self_pairs() -> None:
    # predicted {ab, cd, ce} ((b,a) repeats ab, (c,c) is dropped); gold {ab, de}
    # tp = 1 (ab), fp = 2 (cd, ce), fn = 1 (de)
    # precision = 1/3, recall = 1/2, f1 = 2 * 1/6 / (5/6) = 0.4
    scores = metrics.pairwise_scores(
        [("a", "b"), ("b", "a"), ("c", "c"), ("c", "d"), ("e", "c")],
        [("b", "a"), ("d", "e"), ("e", "d")],
    )
    assert (scores.tp, scores.fp, scores.fn) == (1, 2, 1)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == pytest.approx(1 / 2)
    assert scores.f1 == pytest.approx(0.4)


def test_pairwise_scores_empty_is_zero_not_an_error() -> None:
    scores = metrics.pairwise_scores([], [("a", "a")])
    assert (scores.tp, scores.fp, scores.fn) == (0, 0, 0)
    assert (scores.precision, scores.recall, scores.f1) == (0.0, 0.0, 0.0)


def test_bcubed_five_items_with_singletons_for_missing_ids() -> None:
    # predicted: P = {a, b, c}; d and e missing -> singletons {d}, {e}
    # gold:      X = {a, b}, Y = {c, d}; e missing -> singleton {e}
    # precision per item |pred ∩ gold| / |pred|: a 2/3, b 2/3, c 1/3, d 1, e 1 -> 11/3 / 5 = 11/15
    # recall per item |pred ∩ gold| / |gold|:    a 1, b 1, c 1/2, d 1/2, e 1   -> 4 / 5
    # f1 = 2 * (11/15) * (4/5) / (11/15 + 12/15) = 88/115
    # (were d and e put in one cluster, precision for d and e would drop to 1/2)
    predicted = {"a": 1, "b": 1, "c": 1}
    gold = {"a": "x", "b": "x", "c": "y", "d": "y"}
    result = metrics.bcubed(predicted, gold, ["a", "b", "c", "d", "e"])
    assert result.precision == pytest.approx(11 / 15)
    assert result.recall == pytest.approx(4 / 5)
    assert result.f1 == pytest.approx(88 / 115)


def test_bcubed_perfect_and_empty() -> None:
    same = {"a": 0, "b": 0, "c": 1}
    assert metrics.bcubed(same, {"a": 7, "b": 7, "c": 9}, "abc") == metrics.BCubed(1.0, 1.0, 1.0)
    assert metrics.bcubed({}, {}, []) == metrics.BCubed(0.0, 0.0, 0.0)


def test_gold_clusters_joins_chains_and_rejects_unknown_ids() -> None:
    clusters = metrics.gold_clusters(["a", "b", "c", "d"], [("a", "b"), ("c", "b")])
    assert clusters["a"] == clusters["b"] == clusters["c"] != clusters["d"]
    with pytest.raises(InputError, match="zz"):
        metrics.gold_clusters(["a", "b"], [("a", "zz")])


HELD_OUT = {"u1": "i1", "u2": "i2", "u3": "i3"}
RANKED = {"u1": ["i1", "x", "y"], "u2": ["x", "y", "i2"], "u3": ["x", "y", "z"]}


def test_hit_rate_and_ndcg_hits_at_rank_0_and_2_and_a_miss() -> None:
    # hits: u1 rank 0, u2 rank 2, u3 miss -> HR = 2/3
    # NDCG = (1/log2(2) + 1/log2(4) + 0) / 3 = (1 + 0.5 + 0) / 3 = 0.5
    assert metrics.hit_rate_at_k(RANKED, HELD_OUT, k=3) == pytest.approx(2 / 3)
    assert metrics.ndcg_at_k(RANKED, HELD_OUT, k=3) == pytest.approx((1 + 1 / math.log2(4)) / 3)


def test_cutoff_k_and_user_without_list() -> None:
    # k = 2 cuts u2's hit at rank 2; u4 has no list: HR = 1/4, NDCG = 1/4
    held_out = {**HELD_OUT, "u4": "i4"}
    assert metrics.hit_rate_at_k(RANKED, held_out, k=2) == pytest.approx(1 / 4)
    assert metrics.ndcg_at_k(RANKED, held_out, k=2) == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="k must be"):
        metrics.hit_rate_at_k(RANKED, held_out, k=0)


def _events() -> pd.DataFrame:
    rows = [
        ("u1", "A", 1),
        ("u1", "B", 3),
        ("u1", "C", 2),
        ("u2", "D", 5),
        ("u2", "E", 5),  # ties with D on time; the later row is the last event
        ("u2", "F", 4),
        ("u3", "G", 1),  # one event: nothing to hold out
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    frame.index = range(10, 17)
    return frame


def test_leave_last_out_orders_by_time_then_row() -> None:
    # u1 by time: A(1) C(2) B(3) -> held out B, query C
    # u2 by time: F(4) D(5, row 3) E(5, row 4) -> held out E, query D
    split = metrics.leave_last_out(_events())
    assert split.held_out == {"u1": "B", "u2": "E"}
    assert split.query == {"u1": "C", "u2": "D"}
    assert split.seen == {"u1": {"A", "C"}, "u2": {"F", "D"}, "u3": {"G"}}
    assert list(split.train.index) == [10, 12, 13, 15, 16]
    assert list(split.train["item_id"]) == ["A", "C", "D", "F", "G"]


def test_leave_last_out_custom_columns_and_missing_column() -> None:
    renamed = _events().rename(columns={"user_id": "who", "item_id": "what", "timestamp": "when"})
    split = metrics.leave_last_out(renamed, user="who", item="what", time="when")
    assert split.held_out == {"u1": "B", "u2": "E"}
    with pytest.raises(InputError, match="timestamp"):
        metrics.leave_last_out(renamed.rename(columns={"who": "user_id", "what": "item_id"}))


def test_popularity_excludes_seen_and_breaks_ties_by_id() -> None:
    # counts: X 3, Z 2, Y 2, W 1 -> order X, Y, Z, W (Y before Z on the tie)
    train = pd.DataFrame({"item_id": ["Z", "X", "Z", "X", "Y", "W", "X", "Y"]})
    ranking = metrics.popularity_ranking(train, {"u1": {"X"}}, ["u1", "u2"], k=2)
    assert ranking == {"u1": ["Y", "Z"], "u2": ["X", "Y"]}


def test_random_is_seeded_distinct_and_never_seen() -> None:
    candidates = [f"i{n}" for n in range(20)]
    exclude = {"u1": set(candidates[:12])}
    users = ["u1", "u2"]
    first = metrics.random_ranking(candidates, exclude, users, k=5, seed=7)
    assert first == metrics.random_ranking(candidates, exclude, users, k=5, seed=7)
    assert first != metrics.random_ranking(candidates, exclude, users, k=5, seed=8)
    for user in users:
        assert len(first[user]) == len(set(first[user])) == 5
        assert set(first[user]) <= set(candidates) - exclude.get(user, set())
    # only 8 candidates left for u1: k = 10 gives all 8, no repeats
    assert sorted(metrics.random_ranking(candidates, exclude, ["u1"], k=10)["u1"]) == sorted(
        candidates[12:]
    )


def test_item_to_item_drops_seen_items_and_the_query() -> None:
    neighbors = {"q1": ["q1", "s1", "n1", "n2", "n3"], "q2": ["n1"]}
    query = {"u1": "q1", "u2": "q2", "u3": "unknown"}
    exclude = {"u1": {"s1"}, "u2": {"n1"}}
    ranking = metrics.item_to_item_ranking(neighbors, query, exclude, k=2)
    assert ranking == {"u1": ["n1", "n2"], "u2": [], "u3": []}


def test_evaluate_rankings_one_row_per_method_in_order() -> None:
    perfect = {user: [item] for user, item in HELD_OUT.items()}
    table = metrics.evaluate_rankings({"toy": RANKED, "perfect": perfect}, HELD_OUT, k=3)
    assert list(table.columns) == ["method", "users", "hr_at_k", "ndcg_at_k"]
    assert list(table["method"]) == ["toy", "perfect"]
    assert list(table["users"]) == [3, 3]
    assert table["hr_at_k"].tolist() == pytest.approx([2 / 3, 1.0])
    assert table["ndcg_at_k"].tolist() == pytest.approx([0.5, 1.0])
