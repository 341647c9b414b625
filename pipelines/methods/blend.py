"""Scoring every item for a block of users: embedding similarity blended with co-occurrence
at one or more weights, seen items masked, top-N kept. Runs inside Spark tasks over the staged
item key blocks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from pipelines.vectors.blocks import KeyBlock, stack_vectors

# A task holds the item matrix (items x dim) and a few USERS_PER_BLOCK x items arrays: fine
# up to some 100k items; beyond, score key blocks with a running top-k as neighbors does.
USERS_PER_BLOCK = 256


def scaled(scores: np.ndarray) -> np.ndarray:
    """Each row mapped to 0..1 by its own min and max (a constant row becomes 0)."""
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


def _sparse_rows(lists: pd.Series, index: dict[str, int], width: int, values=None):
    """A dense (rows x width) matrix from per-row id lists (and values; 1 when None)."""
    dense = np.zeros((len(lists), width), dtype=np.float32)
    for row, ids in enumerate(lists):
        if ids is None or len(ids) == 0:
            continue
        cols = [index.get(i, -1) for i in ids]
        vals = np.ones(len(cols)) if values is None else np.asarray(values.iloc[row], float)
        keep = np.array(cols) >= 0
        dense[row, np.array(cols)[keep]] = vals[keep]
    return dense


def _top_n(user_ids: np.ndarray, ids: np.ndarray, score: np.ndarray, n: int) -> pd.DataFrame:
    import torch

    top_scores, top = torch.topk(torch.from_numpy(score), min(n, len(ids)), dim=1)
    found = np.isfinite(top_scores.numpy())
    rows, ranks = np.nonzero(found)
    return pd.DataFrame(
        {
            "user_id": user_ids[rows],
            "rank": (ranks + 1).astype(np.int32),
            "item_id": ids[top.numpy()[found]],
            "score": top_scores.numpy()[found].astype(np.float32),
        }
    )


def blend_block(
    users: pd.DataFrame,
    keys: np.ndarray,
    ids: np.ndarray,
    index: dict,
    weights: Sequence[float],
    n: int,
) -> pd.DataFrame:
    """users: user_id, vector, seen, cooc_ids, cooc_scores -> user_id, rank, item_id, score,
    weight: the top n per user for each blend weight, the block scored once for all."""
    embedding = scaled(stack_vectors(users["vector"]) @ keys.T)
    cooc = scaled(_sparse_rows(users["cooc_ids"], index, len(ids), users["cooc_scores"]))
    seen = _sparse_rows(users["seen"], index, len(ids)) > 0
    user_ids = users["user_id"].to_numpy()
    parts = []
    for weight in weights:
        score = (1.0 - weight) * embedding + weight * cooc
        score[seen] = -np.inf
        parts.append(_top_n(user_ids, ids, score, n).assign(weight=float(weight)))
    return pd.concat(parts, ignore_index=True)


def blend_udf(blocks: list[KeyBlock], weights: Sequence[float], n: int, threads: int):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        loaded = [block.load() for block in blocks]
        ids = np.concatenate([block_ids for block_ids, _ in loaded])
        keys = np.concatenate([np.asarray(vectors) for _, vectors in loaded])
        index = {item: i for i, item in enumerate(ids)}
        with threadpool_limits(threads):
            for batch in batches:
                for start in range(0, len(batch), USERS_PER_BLOCK):
                    part = batch.iloc[start : start + USERS_PER_BLOCK]
                    yield blend_block(part, keys, ids, index, weights, n)

    return run
