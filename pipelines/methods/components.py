"""Connected components of accepted match pairs (scipy's sparse graph routine)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(items: Sequence[str], pairs: Iterable[tuple[str, str]]) -> dict[str, int]:
    """A component number for every item; an item in no pair is a component of its own.
    Pairs naming an item outside ``items`` raise KeyError."""
    index = {item: i for i, item in enumerate(items)}
    edges = np.array([(index[a], index[b]) for a, b in pairs], dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])),
        shape=(len(index), len(index)),
    )
    _, labels = connected_components(graph, directed=False)
    return {item: int(labels[i]) for item, i in index.items()}
