"""Exact top-k cosine neighbours by blocked matrix products, inside Spark tasks.

The key side is staged once as blocks of at most ``key_block_rows`` rows, each a pair of
.npy files (ids sorted, vectors float32) on storage every executor reads. Each query task
takes one Arrow batch of queries, memory-maps the key blocks one after another, multiplies
(numpy BLAS), keeps a running top-k per query row, and names the winners at the end.
Memory per task is O(query rows x key block rows); no node ever holds n x n scores.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

NEG_INF = np.float32(-np.inf)


@dataclass(frozen=True)
class KeyBlock:
    ids_file: str
    vectors_file: str
    rows: int

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        return np.load(self.ids_file), np.load(self.vectors_file, mmap_mode="r")


def stack_vectors(column: pd.Series) -> np.ndarray:
    return np.stack(column.to_numpy()).astype(np.float32, copy=False)


def write_key_block(folder: Path, frame: pd.DataFrame) -> KeyBlock:
    """One block, sorted by id so a query can find itself with a binary search."""
    frame = frame.sort_values("item_id", kind="stable")
    stem = folder / f"keys-{uuid.uuid4().hex}"
    ids_file, vectors_file = f"{stem}.ids.npy", f"{stem}.vectors.npy"
    np.save(ids_file, frame["item_id"].to_numpy().astype(str))
    np.save(vectors_file, stack_vectors(frame["vector"]))
    return KeyBlock(ids_file, vectors_file, len(frame))


def _self_mask(scores: np.ndarray, query_ids: np.ndarray, key_ids: np.ndarray) -> None:
    """An item is not its own neighbour: its score against itself becomes -inf."""
    pos = np.searchsorted(key_ids, query_ids)
    inside = pos < len(key_ids)
    rows = np.flatnonzero(inside)
    rows = rows[key_ids[pos[rows]] == query_ids[rows]]
    scores[rows, pos[rows]] = NEG_INF


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, columns) of each row's k largest, best first (torch's top-k: faster than
    numpy's argpartition on wide blocks)."""
    import torch

    values, columns = torch.topk(torch.from_numpy(scores), k, dim=1, sorted=True)
    return values.numpy(), columns.numpy()


@dataclass
class RunningTopK:
    """Best k (score, block, column) per query row over the key blocks seen so far."""

    scores: np.ndarray
    blocks: np.ndarray
    columns: np.ndarray

    @classmethod
    def empty(cls, rows: int, k: int) -> RunningTopK:
        shape = (rows, k)
        return cls(np.full(shape, NEG_INF), np.full(shape, -1), np.full(shape, -1))

    def merge(self, block: int, scores: np.ndarray) -> None:
        k = self.scores.shape[1]
        values, columns = _top_k(scores, min(k, scores.shape[1]))
        all_scores = np.concatenate([self.scores, values], axis=1)
        all_blocks = np.concatenate([self.blocks, np.full(columns.shape, block)], axis=1)
        all_columns = np.concatenate([self.columns, columns], axis=1)
        best, order = _top_k(np.ascontiguousarray(all_scores), k)
        self.scores = best
        self.blocks = np.take_along_axis(all_blocks, order, axis=1)
        self.columns = np.take_along_axis(all_columns, order, axis=1)


def top_k_batch(
    query_ids: np.ndarray, queries: np.ndarray, blocks: list[KeyBlock], k: int
) -> pd.DataFrame:
    """item_id, rank (1 = best), neighbor_id, score for one batch of queries."""
    best = RunningTopK.empty(len(query_ids), k)
    names: list[np.ndarray] = []
    for number, block in enumerate(blocks):
        key_ids, keys = block.load()
        scores = queries @ keys.T
        _self_mask(scores, query_ids, key_ids)
        best.merge(number, scores)
        names.append(key_ids)
    found = np.isfinite(best.scores)
    rows, ranks = np.nonzero(found)
    blocks_hit, columns = best.blocks[found], best.columns[found]
    neighbor = np.empty(len(rows), dtype=object)
    for number in np.unique(blocks_hit):
        at = blocks_hit == number
        neighbor[at] = names[number][columns[at]]
    return pd.DataFrame(
        {
            "item_id": query_ids[rows],
            "rank": (ranks + 1).astype(np.int32),
            "neighbor_id": neighbor.astype(str),
            "score": best.scores[found].astype(np.float32),
        }
    )


def top_k_udf(blocks: list[KeyBlock], k: int, threads: int):
    """mapInPandas function: each Arrow batch of (item_id, vector) is one query block."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        with threadpool_limits(threads):
            for batch in batches:
                if len(batch):
                    ids = batch["item_id"].to_numpy().astype(str)
                    yield top_k_batch(ids, stack_vectors(batch["vector"]), blocks, k)

    return run
