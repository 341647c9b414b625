"""Offline quality metrics: duplicate detection (pairwise, B-cubed) and ranking (HR, NDCG).

Pure Python and pandas, no Spark: inputs are small (thousands of records or users) and the
numbers must be checkable by hand.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.errors import InputError
from pipelines.methods.components import components

User = Hashable
Item = Hashable
Rankings = Mapping[User, Sequence[Item]]
Exclusions = Mapping[User, set[Item]]


@dataclass(frozen=True)
class PairScores:
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class BCubed:
    precision: float
    recall: float
    f1: float


@dataclass
class Split:
    """Leave-last-out split; held_out and query hold only users with at least two events."""

    train: pd.DataFrame
    held_out: dict[User, Item]
    query: dict[User, Item]
    seen: dict[User, set[Item]]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def _unordered_pairs(pairs: Iterable[tuple[Hashable, Hashable]]) -> set[frozenset[Hashable]]:
    return {frozenset((a, b)) for a, b in pairs if a != b}


def pairwise_scores(
    predicted: Iterable[tuple[Hashable, Hashable]], gold: Iterable[tuple[Hashable, Hashable]]
) -> PairScores:
    """Precision/recall/F1 of predicted duplicate pairs; (a, b) == (b, a), self-pairs dropped."""
    predicted_set, gold_set = _unordered_pairs(predicted), _unordered_pairs(gold)
    tp = len(predicted_set & gold_set)
    fp, fn = len(predicted_set) - tp, len(gold_set) - tp
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return PairScores(tp, fp, fn, precision, recall, _f1(precision, recall))


def bcubed(
    predicted: Mapping[str, Hashable], gold: Mapping[str, Hashable], items: Iterable[str]
) -> BCubed:
    """B-cubed over ``items``; an item missing from a mapping is a cluster of its own."""

    def label(mapping: Mapping[str, Hashable], item: str) -> tuple[int, Hashable]:
        # The tag keeps a singleton's key apart from any real cluster label.
        return (0, mapping[item]) if item in mapping else (1, item)

    unique_items = list(dict.fromkeys(items))
    if not unique_items:
        return BCubed(0.0, 0.0, 0.0)
    cells = Counter((label(predicted, i), label(gold, i)) for i in unique_items)
    predicted_sizes = Counter(label(predicted, i) for i in unique_items)
    gold_sizes = Counter(label(gold, i) for i in unique_items)
    # Each of the n items in a (predicted, gold) cell has n / |cluster| correct neighbours.
    precision = sum(n * n / predicted_sizes[p] for (p, _), n in cells.items())
    recall = sum(n * n / gold_sizes[g] for (_, g), n in cells.items())
    precision, recall = precision / len(unique_items), recall / len(unique_items)
    return BCubed(precision, recall, _f1(precision, recall))


def gold_clusters(items: Iterable[str], gold_pairs: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Cluster number per item from the gold pairs' connected components."""
    item_list = list(items)
    pairs = list(gold_pairs)
    known = set(item_list)
    unknown = sorted({x for pair in pairs for x in pair if x not in known})
    if unknown:
        raise InputError(
            f"gold pairs name {len(unknown)} id(s) not among the records, e.g. {unknown[:3]}; "
            "check that the gold pairs file belongs to this record set"
        )
    return components(item_list, pairs)


def _rank(ranked: Sequence[Item] | None, item: Item, k: int) -> int | None:
    """0-based position of ``item`` in the first k entries, None when absent."""
    for position, candidate in enumerate(list(ranked or [])[:k]):
        if candidate == item:
            return position
    return None


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def hit_rate_at_k(ranked: Rankings, held_out: Mapping[User, Item], k: int) -> float:
    """Share of held-out users whose held-out item is in their top k (no list = miss)."""
    _check_k(k)
    hits = [_rank(ranked.get(user), item, k) is not None for user, item in held_out.items()]
    return _ratio(sum(hits), len(hits))


def ndcg_at_k(ranked: Rankings, held_out: Mapping[User, Item], k: int) -> float:
    """Mean of 1 / log2(rank + 2) over held-out users (0-based rank; 0 when not in top k)."""
    _check_k(k)
    gains = []
    for user, item in held_out.items():
        rank = _rank(ranked.get(user), item, k)
        gains.append(0.0 if rank is None else 1.0 / math.log2(rank + 2))
    return _ratio(sum(gains), len(gains))


def _require_columns(events: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise InputError(
            f"events frame lacks column(s) {missing}; it has {list(events.columns)}. "
            "Pass user=, item=, time= to name the columns"
        )


def leave_last_out(
    events: pd.DataFrame, user: str = "user_id", item: str = "item_id", time: str = "timestamp"
) -> Split:
    """Hold out each user's last event (timestamp ties: the later row is last).

    A user with one event has nothing to evaluate; that event stays in train.
    """
    _require_columns(events, [user, item, time])
    frame = pd.DataFrame(
        {"user": events[user].to_numpy(), "item": events[item].to_numpy(), "time": events[time]}
    ).reset_index(drop=True)
    frame["row"] = np.arange(len(frame))
    ordered = frame.sort_values(["user", "time", "row"])
    from_end = ordered.groupby("user", sort=False).cumcount(ascending=False)
    counts = ordered.groupby("user", sort=False)["row"].transform("size")
    evaluable = counts >= 2
    last = ordered[evaluable & (from_end == 0)]
    before_last = ordered[evaluable & (from_end == 1)]
    held_rows = np.sort(last["row"].to_numpy())
    train_mask = np.ones(len(frame), dtype=bool)
    train_mask[held_rows] = False
    train_part = frame[train_mask]
    return Split(
        train=events[train_mask],
        held_out=dict(zip(last["user"], last["item"], strict=True)),
        query=dict(zip(before_last["user"], before_last["item"], strict=True)),
        seen={u: set(group) for u, group in train_part.groupby("user", sort=False)["item"]},
    )


def _top_unseen(ordered: Iterable[Item], seen: set[Item], k: int) -> list[Item]:
    picked: list[Item] = []
    for candidate in ordered:
        if len(picked) == k:
            break
        if candidate not in seen:
            picked.append(candidate)
    return picked


def popularity_ranking(
    train: pd.DataFrame, exclude: Exclusions, users: Iterable[User], k: int, item: str = "item_id"
) -> dict[User, list[Item]]:
    """Most frequent train items first (ties by item id), minus each user's excluded items."""
    _check_k(k)
    _require_columns(train, [item])
    counts = Counter(train[item].tolist())
    by_popularity = sorted(counts, key=lambda candidate: (-counts[candidate], candidate))
    return {user: _top_unseen(by_popularity, exclude.get(user, set()), k) for user in users}


def random_ranking(
    candidates: Sequence[Item], exclude: Exclusions, users: Iterable[User], k: int, seed: int = 0
) -> dict[User, list[Item]]:
    """k distinct random unexcluded candidates per user; reproducible for a seed and user order."""
    _check_k(k)
    pool = list(dict.fromkeys(candidates))
    rng = np.random.default_rng(seed)
    ranking: dict[User, list[Item]] = {}
    for user in users:
        seen = exclude.get(user, set())
        allowed = [c for c in pool if c not in seen]
        picks = rng.choice(len(allowed), size=min(k, len(allowed)), replace=False)
        ranking[user] = [allowed[i] for i in picks]
    return ranking


def item_to_item_ranking(
    neighbors: Mapping[Item, Sequence[Item]],
    query: Mapping[User, Item],
    exclude: Exclusions,
    k: int,
) -> dict[User, list[Item]]:
    """The query item's neighbours per user, without seen items or the query itself, cut to k."""
    _check_k(k)
    ranking: dict[User, list[Item]] = {}
    for user, query_item in query.items():
        dropped = set(exclude.get(user, set())) | {query_item}
        ordered = dict.fromkeys(neighbors.get(query_item, []))
        ranking[user] = _top_unseen(ordered, dropped, k)
    return ranking


def evaluate_rankings(
    rankings: Mapping[str, Rankings], held_out: Mapping[User, Item], k: int = 10
) -> pd.DataFrame:
    """One row per method (given order): method, users, hr_at_k, ndcg_at_k."""
    rows = [
        {
            "method": method,
            "users": len(held_out),
            "hr_at_k": hit_rate_at_k(ranked, held_out, k),
            "ndcg_at_k": ndcg_at_k(ranked, held_out, k),
        }
        for method, ranked in rankings.items()
    ]
    return pd.DataFrame(rows, columns=["method", "users", "hr_at_k", "ndcg_at_k"])
