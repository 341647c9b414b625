"""User recs scored against item key blocks give what scoring the whole item matrix at once
gives, and a task never holds more than one key block of item vectors."""

from __future__ import annotations

import itertools
import weakref

import numpy as np
import pandas as pd
import pytest

from pipelines.methods import blend
from pipelines.vectors.blocks import KeyBlock, write_key_block

BLOCK_ROWS = [1, 3, 5, 8, 2, 13, 4]  # 7 key blocks of uneven size
WEIGHTS = [0.0, 0.3, 0.9, 1.0]
N = 5


def _items(vectors: str) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n, dim = sum(BLOCK_ROWS), 4
    if vectors == "integer":  # exact dot products: the ties are exact too
        keys = rng.integers(-2, 3, (n, dim)).astype(np.float32)
        keys[9] = keys[2]  # the same vector in two blocks: tied scores
    else:
        keys = rng.standard_normal((n, dim)).astype(np.float32)
    return pd.DataFrame({"item_id": [f"I{i:02d}" for i in range(n)], "vector": list(keys)})


def _users(items: pd.DataFrame, vectors: str) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    ids = items["item_id"].tolist()
    rows = []
    for u in range(40):
        vector = (
            rng.integers(-2, 3, 4) if vectors == "integer" else rng.standard_normal(4)
        ).astype(np.float32)
        kind = u % 5
        if kind == 0:  # co-occurrence over every item (its min is not 0)
            cooc = list(rng.permutation(ids)), list(rng.integers(1, 9, len(ids)).astype(float))
        elif kind == 1:  # no co-occurrence at all
            cooc = (None, None) if u % 2 else ([], [])
        elif kind == 2:  # co-occurrence with equal votes (ties), one id not in the catalog
            picked = list(rng.choice(ids, 6, replace=False))
            cooc = [*picked, "gone"], [2.0] * 7
        else:
            picked = list(rng.choice(ids, 4, replace=False))
            cooc = picked, list(rng.uniform(0.1, 3.0, 4))
        seen = list(rng.choice(ids, u % 4 * 3, replace=False)) + ["gone"]
        if u == 3:  # all but two items seen: fewer than N recs
            seen = ids[:-2]
        if u == 8:  # a constant embedding row scales to 0
            vector = np.zeros(4, dtype=np.float32)
        rows.append((f"U{u:02d}", vector, seen, *cooc))
    return pd.DataFrame(rows, columns=["user_id", "vector", "seen", "cooc_ids", "cooc_scores"])


def _dense(lists: pd.Series, ids: list[str], values: pd.Series | None = None) -> np.ndarray:
    index = {item: i for i, item in enumerate(ids)}
    out = np.zeros((len(lists), len(ids)), dtype=np.float32)
    for row, entries in enumerate(lists):
        for at, item in enumerate(entries if entries is not None else []):
            if item in index:
                out[row, index[item]] = 1.0 if values is None else values.iloc[row][at]
    return out


def _scaled(scores: np.ndarray) -> np.ndarray:
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


def reference_scores(users: pd.DataFrame, items: pd.DataFrame, weight: float) -> np.ndarray:
    """users x items blended scores over the whole item matrix at once, seen items -inf."""
    ids = items["item_id"].tolist()
    queries = np.stack(users["vector"].to_numpy()).astype(np.float32)
    embedding = _scaled(queries @ np.stack(items["vector"].to_numpy()).T)
    cooc = _scaled(_dense(users["cooc_ids"], ids, users["cooc_scores"]))
    score = (1.0 - weight) * embedding + weight * cooc
    score[_dense(users["seen"], ids) > 0] = -np.inf
    return score


def _stage(folder, items: pd.DataFrame) -> list[KeyBlock]:
    ends = np.cumsum(BLOCK_ROWS)
    shuffled = items.sample(frac=1.0, random_state=3)  # blocks hold no id order between them
    return [
        write_key_block(folder, shuffled.iloc[e - r : e])
        for e, r in zip(ends, BLOCK_ROWS, strict=True)
    ]


def _run(blocks: list[KeyBlock], users: pd.DataFrame) -> pd.DataFrame:
    run = blend.blend_udf(blocks, WEIGHTS, N, threads=1)
    return pd.concat(list(run(iter([users]))), ignore_index=True)


def assert_top_n(recs: pd.DataFrame, users: pd.DataFrame, items: pd.DataFrame) -> None:
    """Per user and weight: the reference's N best scores in order, each item the reference's
    one at that rank, or (where several items tie at that score) one of the tied items."""
    ids = items["item_id"].to_numpy()
    for weight in WEIGHTS:
        scores = reference_scores(users, items, weight)
        got = recs[recs["weight"] == weight]
        for row, user in enumerate(users["user_id"]):
            mine = got[got["user_id"] == user].sort_values("rank")
            order = np.argsort(-scores[row], kind="stable")
            order = order[np.isfinite(scores[row][order])][:N]
            assert mine["rank"].tolist() == list(range(1, len(order) + 1)), (user, weight)
            np.testing.assert_allclose(mine["score"], scores[row][order], rtol=1e-5, atol=1e-6)
            for item, expected, at in zip(mine["item_id"], scores[row][order], order, strict=True):
                tied = np.flatnonzero(scores[row] == expected)
                if len(tied) == 1:
                    assert item == ids[at], (user, weight)
                else:
                    assert item in set(ids[tied]), (user, weight)


@pytest.mark.parametrize("vectors", ["integer", "gaussian"])
def test_blocked_scoring_matches_scoring_every_item_at_once(tmp_path, monkeypatch, vectors):
    monkeypatch.setattr(blend, "USERS_PER_BLOCK", 16)  # three user blocks
    items = _items(vectors)
    users = _users(items, vectors)
    recs = _run(_stage(tmp_path, items), users)
    assert list(recs.columns) == ["user_id", "rank", "item_id", "score", "weight"]
    assert not recs.duplicated(["user_id", "weight", "item_id"]).any()
    assert_top_n(recs, users, items)
    three = recs[(recs["user_id"] == "U03")]
    assert len(three) == 2 * len(WEIGHTS)  # all but two items seen


def test_a_task_holds_one_key_block_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(blend, "USERS_PER_BLOCK", 16)
    items = _items("gaussian")
    users = _users(items, "gaussian")
    blocks = _stage(tmp_path, items)
    live: set[int] = set()
    most = [0]
    load, numbers = KeyBlock.load, itertools.count()

    def tracked(block: KeyBlock):
        ids, vectors = load(block)
        number = next(numbers)
        live.add(number)
        weakref.finalize(vectors, live.discard, number)
        most[0] = max(most[0], len(live))
        return ids, vectors

    monkeypatch.setattr(KeyBlock, "load", tracked)
    _run(blocks, users)
    assert most[0] == 1
