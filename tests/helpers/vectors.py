"""Synthetic unit vectors for neighbour-search tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def clustered_unit_vectors(
    n: int, dim: int = 32, clusters: int = 30, noise: float = 0.5, seed: int = 0
) -> np.ndarray:
    """Points around random centres, as embeddings of a catalog group around topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    points = centres[rng.integers(0, clusters, n)]
    points += noise * rng.standard_normal((n, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def item_ids(n: int) -> np.ndarray:
    return np.array([f"I{i:05d}" for i in range(n)])


def brute_force(vectors: np.ndarray, k: int) -> pd.DataFrame:
    """The exact top-k (item_id, rank, neighbor_id, score) of every row, never itself."""
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    top = np.argsort(-scores, axis=1)[:, :k]
    ids, n = item_ids(len(vectors)), len(vectors)
    return pd.DataFrame(
        {
            "item_id": np.repeat(ids, k),
            "rank": np.tile(np.arange(1, k + 1), n),
            "neighbor_id": ids[top].ravel(),
            "score": np.take_along_axis(scores, top, axis=1).ravel(),
        }
    )
