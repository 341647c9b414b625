"""Top-k cosine neighbours of a small set of query vectors over a whole vector table.

The queries are broadcast; each Arrow batch of the table is one (q x m) matrix product with
a partial top-k per query, and Spark merges the partial lists. Memory per task is
O(q * batch), never O(n^2).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType, StringType, StructField, StructType

CANDIDATES = StructType(
    [
        StructField("query_id", StringType()),
        StructField("neighbor_id", StringType()),
        StructField("score", FloatType()),
    ]
)


def _partial_top_k(query_ids: list[str], queries: np.ndarray, k: int):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if batch.empty:
                continue
            ids = batch["item_id"].to_numpy()
            scores = queries @ np.stack(batch["vector"].to_numpy()).astype(np.float32).T
            scores[np.asarray(query_ids)[:, None] == ids[None, :]] = -np.inf  # not itself
            keep = min(k, scores.shape[1])
            top = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
            rows = np.repeat(np.arange(len(query_ids)), keep)
            cols = top.ravel()
            yield pd.DataFrame(
                {
                    "query_id": np.asarray(query_ids)[rows],
                    "neighbor_id": ids[cols],
                    "score": scores[rows, cols].astype(np.float32),
                }
            )

    return run


def top_k_for_queries(
    vectors: DataFrame, query_ids: list[str], queries: np.ndarray, k: int
) -> dict[str, list[str]]:
    """For each query id, the ids of its k most similar rows of ``vectors`` (item_id, vector)."""
    if not query_ids:
        return {}
    candidates = vectors.select("item_id", "vector").mapInPandas(
        _partial_top_k(query_ids, queries.astype(np.float32), k), CANDIDATES
    )
    ranked = candidates.filter(F.col("score") > float("-inf")).withColumn(
        "rank",
        F.row_number().over(Window.partitionBy("query_id").orderBy(F.desc("score"), "neighbor_id")),
    )
    result: dict[str, list[str]] = {query: [] for query in query_ids}
    for row in ranked.filter(F.col("rank") <= k).orderBy("query_id", "rank").collect():
        result[row.query_id].append(row.neighbor_id)
    return result
