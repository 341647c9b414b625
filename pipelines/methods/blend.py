"""Scoring every item for a block of users: embedding similarity blended with co-occurrence
at one or more weights, seen items masked, top-N kept. Runs inside Spark tasks over the staged
item key blocks, one block at a time, as the neighbour graph does (``vectors.blocks``).

score = (1 - w) * scaled(similarity) + w * scaled(co-occurrence), each scaled to 0..1 per
user by its min and max over every item. Co-occurrence is zero off the user's short list, so
off the list the score rises with similarity alone, whatever w and the scaling: one pass over
the blocks keeps each user's N most similar unseen items off the list (a running top-N), the
similarity of each listed item and the similarity's min and max; the scores are then exact on
those candidates. A task holds one key block of vectors and USERS_PER_BLOCK x block scores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.vectors.blocks import NEG_INF, KeyBlock, RunningTopK, stack_vectors

USERS_PER_BLOCK = 256


def scaled_by(scores: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Each row mapped to 0..1 by its min ``low`` and max ``high`` (a constant row: 0)."""
    low, span = low[:, None], (high - low)[:, None]
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


@dataclass(frozen=True)
class IdLists:
    """Per-user id lists (and values) of one user block, flattened: entry i is user row[i]."""

    rows: np.ndarray
    ids: np.ndarray
    values: np.ndarray  # float32

    @classmethod
    def of(cls, lists: pd.Series, values: pd.Series | None = None) -> IdLists:
        frame = pd.DataFrame({"ids": lists.to_numpy(), "values": _values(lists, values)})
        frame["rows"] = np.arange(len(frame))
        flat = frame.explode(["ids", "values"]).dropna(subset=["ids"])
        flat = flat.drop_duplicates(["rows", "ids"], keep="last")  # as a dense write would
        return cls(
            flat["rows"].to_numpy(np.int64),
            flat["ids"].to_numpy().astype(str),
            flat["values"].to_numpy(np.float32),
        )

    def in_block(self, key_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(entries, columns): the entries whose id is in the block (ids sorted), and where."""
        pos = np.searchsorted(key_ids, self.ids)
        inside = np.flatnonzero(pos < len(key_ids))
        found = inside[key_ids[pos[inside]] == self.ids[inside]]
        return found, pos[found]


def _values(lists: pd.Series, values: pd.Series | None) -> np.ndarray:
    """values as a 1-d array of per-row lists (1.0 for each id when None)."""
    if values is None:
        values = lists.map(lambda ids: None if ids is None else [1.0] * len(ids))
    return values.to_numpy()


@dataclass
class UserScan:
    """One pass of a user block over the key blocks: similarity's min and max per user, each
    listed (co-occurring) item's similarity (-inf: seen or not an item), and the running
    top-N similarity of the unseen items off the list."""

    queries: np.ndarray
    cooc: IdLists
    seen: IdLists
    low: np.ndarray
    high: np.ndarray
    listed: np.ndarray  # per cooc entry
    found: np.ndarray  # per cooc entry: the id is an item
    best: RunningTopK

    @classmethod
    def start(cls, users: pd.DataFrame, n: int) -> UserScan:
        rows = len(users)
        cooc = IdLists.of(users["cooc_ids"], users["cooc_scores"])
        return cls(
            stack_vectors(users["vector"]),
            cooc,
            IdLists.of(users["seen"]),
            np.full(rows, np.inf, dtype=np.float32),
            np.full(rows, -np.inf, dtype=np.float32),
            np.full(len(cooc.ids), NEG_INF),
            np.zeros(len(cooc.ids), dtype=bool),
            RunningTopK.empty(rows, n),
        )

    def add(self, number: int, block: KeyBlock) -> None:
        key_ids, keys = block.load()
        similarity = self.queries @ keys.T
        self.low = np.minimum(self.low, similarity.min(axis=1))
        self.high = np.maximum(self.high, similarity.max(axis=1))
        seen, seen_at = self.seen.in_block(key_ids)
        similarity[self.seen.rows[seen], seen_at] = NEG_INF
        listed, listed_at = self.cooc.in_block(key_ids)
        self.listed[listed] = similarity[self.cooc.rows[listed], listed_at]
        self.found[listed] = True
        similarity[self.cooc.rows[listed], listed_at] = NEG_INF
        self.best.merge(number, similarity)


def cooc_range(cooc: IdLists, found: np.ndarray, users: int, items: int):
    """Per user min and max co-occurrence over every item: 0 off the list unless the list
    covers every item."""
    rows, values = cooc.rows[found], cooc.values[found]
    low = np.full(users, np.inf, dtype=np.float32)
    high = np.full(users, -np.inf, dtype=np.float32)
    np.minimum.at(low, rows, values)
    np.maximum.at(high, rows, values)
    partial = np.bincount(rows, minlength=users) < items
    return np.where(partial, np.minimum(low, 0), low), np.where(partial, np.maximum(high, 0), high)


def _names(best: RunningTopK, blocks: list[KeyBlock]) -> np.ndarray:
    names = np.full(best.blocks.shape, "", dtype=object)
    for number in np.unique(best.blocks[best.blocks >= 0]):
        at = best.blocks == number
        names[at] = np.load(blocks[number].ids_file)[best.columns[at]]
    return names


def _padded(cooc: IdLists, users: int, *columns: tuple[np.ndarray, object]) -> list[np.ndarray]:
    """Per-entry columns laid out as users x (longest list) matrices, each with its fill."""
    starts = np.searchsorted(cooc.rows, np.arange(users))
    slot = np.arange(len(cooc.rows)) - starts[cooc.rows]
    width = int(slot.max()) + 1 if len(slot) else 0
    out = []
    for column, fill in columns:
        matrix = np.full((users, width), fill, dtype=column.dtype)
        matrix[cooc.rows, slot] = column
        out.append(matrix)
    return out


@dataclass(frozen=True)
class Candidates:
    """users x candidates: similarity (-inf: none), co-occurrence and item id, with each
    user's min and max of both over every item."""

    similarity: np.ndarray
    cooc: np.ndarray
    names: np.ndarray
    ranges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def of(cls, scan: UserScan, blocks: list[KeyBlock]) -> Candidates:
        users, items = len(scan.queries), sum(block.rows for block in blocks)
        listed, values, ids = _padded(
            scan.cooc, users, (scan.listed, NEG_INF), (scan.cooc.values, 0), (scan.cooc.ids, "")
        )
        off_list = np.zeros_like(scan.best.scores)
        return cls(
            np.concatenate([scan.best.scores, listed], axis=1),
            np.concatenate([off_list, values], axis=1),
            np.concatenate([_names(scan.best, blocks), ids.astype(object)], axis=1),
            (scan.low, scan.high, *cooc_range(scan.cooc, scan.found, users, items)),
        )

    def scores(self, weight: float) -> np.ndarray:
        low, high, cooc_low, cooc_high = self.ranges
        valid = np.isfinite(self.similarity)
        embedding = scaled_by(np.where(valid, self.similarity, 0), low, high)
        score = (1.0 - weight) * embedding + weight * scaled_by(self.cooc, cooc_low, cooc_high)
        score[~valid] = -np.inf
        return score


def _top_n(user_ids: np.ndarray, names: np.ndarray, score: np.ndarray, n: int) -> pd.DataFrame:
    import torch

    top_scores, top = torch.topk(torch.from_numpy(score), min(n, score.shape[1]), dim=1)
    found = np.isfinite(top_scores.numpy())
    rows, ranks = np.nonzero(found)
    return pd.DataFrame(
        {
            "user_id": user_ids[rows],
            "rank": (ranks + 1).astype(np.int32),
            "item_id": np.take_along_axis(names, top.numpy(), axis=1)[found].astype(str),
            "score": top_scores.numpy()[found].astype(np.float32),
        }
    )


def blend_block(
    users: pd.DataFrame, blocks: list[KeyBlock], weights: Sequence[float], n: int
) -> pd.DataFrame:
    """users: user_id, vector, seen, cooc_ids, cooc_scores -> user_id, rank, item_id, score,
    weight: the top n per user for each blend weight, the key blocks read once for all."""
    scan = UserScan.start(users, n)
    for number, block in enumerate(blocks):
        scan.add(number, block)
    candidates = Candidates.of(scan, blocks)
    user_ids = users["user_id"].to_numpy()
    parts = [
        _top_n(user_ids, candidates.names, candidates.scores(w), n).assign(weight=float(w))
        for w in weights
    ]
    return pd.concat(parts, ignore_index=True)


def blend_udf(blocks: list[KeyBlock], weights: Sequence[float], n: int, threads: int):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        with threadpool_limits(threads):
            for batch in batches:
                for start in range(0, len(batch), USERS_PER_BLOCK):
                    part = batch.iloc[start : start + USERS_PER_BLOCK]
                    yield blend_block(part, blocks, weights, n)

    return run
