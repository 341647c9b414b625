"""Exact top-k cosine search inside Spark tasks: the key vectors are staged once as blocks
(``vectors.blocks``) every executor reads, then each task scores a block of queries
(``vectors.ann`` queries an index built from the same blocks, through the same blocking).

One set-up for every caller (the neighbour graph, drift sentinels, user recs): keys staged
under the folder the caller names (``[neighbors] staging_dir`` where set).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql.types import FloatType, IntegerType, LongType, StringType, StructField, StructType

from pipelines.vectors.blocks import KeyBlock, top_k_udf, write_key_block

GRAPH_SCHEMA = StructType(
    [
        StructField("item_id", StringType(), False),
        StructField("rank", IntegerType(), False),
        StructField("neighbor_id", StringType(), False),
        StructField("score", FloatType(), False),
    ]
)
MANIFEST = StructType(
    [
        StructField("ids_file", StringType()),
        StructField("vectors_file", StringType()),
        StructField("rows", LongType()),
    ]
)


def _block_writer(folder: Path):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = [batch for batch in batches if len(batch)]
        if frames:  # the whole partition is one key block
            block = write_key_block(folder, pd.concat(frames, ignore_index=True))
            yield pd.DataFrame([block.__dict__])

    return run


def stage_keys(
    vectors: DataFrame, folder: Path, block_rows: int, total: int | None = None
) -> list[KeyBlock]:
    """Write ``vectors`` (item_id, vector; ``total`` rows, counted when not given) to
    ``folder`` as blocks of about ``block_rows``."""
    folder.mkdir(parents=True, exist_ok=True)
    total = vectors.count() if total is None else total
    parts = max(1, math.ceil(total / block_rows))
    keys = vectors.select("item_id", "vector").repartition(parts)
    rows = keys.mapInPandas(_block_writer(folder), MANIFEST).collect()
    return [KeyBlock(r.ids_file, r.vectors_file, r.rows) for r in rows]


def rechunked(run, rows: int):
    """Feed ``run`` query blocks of ``rows`` rows whatever Arrow's batch size is."""

    def regroup(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        pending: list[pd.DataFrame] = []
        size = 0
        for batch in batches:
            pending.append(batch)
            size += len(batch)
            if size >= rows:
                merged = pd.concat(pending, ignore_index=True)
                for start in range(0, len(merged) - rows + 1, rows):
                    yield merged.iloc[start : start + rows]
                rest = merged.iloc[len(merged) - len(merged) % rows :]
                pending, size = [rest], len(rest)
        if size:
            yield pd.concat(pending, ignore_index=True)

    return lambda batches: run(regroup(batches))


def map_query_blocks(
    queries: DataFrame, run, query_block_rows: int, total: int | None = None
) -> DataFrame:
    """Lazy (item_id, rank, neighbor_id, score) of ``run``, a mapInPandas function of blocks
    of ``query_block_rows`` (item_id, vector) rows, spread over at least every core."""
    spark = queries.sparkSession
    total = queries.count() if total is None else total
    parts = max(spark.sparkContext.defaultParallelism, math.ceil(total / query_block_rows))
    blocked = queries.select("item_id", "vector").repartition(parts)
    return blocked.mapInPandas(rechunked(run, query_block_rows), GRAPH_SCHEMA)


def top_k(
    queries: DataFrame,
    blocks: list[KeyBlock],
    k: int,
    query_block_rows: int,
    threads: int = 1,
    total: int | None = None,
) -> DataFrame:
    """Lazy (item_id, rank, neighbor_id, score): each query's k best keys by cosine, never
    itself; the blocks must stay on disk until the result is written or collected."""
    return map_query_blocks(queries, top_k_udf(blocks, k, threads), query_block_rows, total)
