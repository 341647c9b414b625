"""Approximate top-k cosine search: a faiss IVF-Flat index built once on the driver from the
staged key blocks (``vectors.search.stage_keys``), written next to them, and queried inside
Spark tasks one block of queries at a time.

IVF-Flat rather than HNSW: its build is k-means on a sample plus one assignment pass, both
matrix products BLAS runs near peak on few cores (1M x 384 in under 2 minutes on 2 busy
cores, where HNSW's one-by-one graph insertions took 42 s for 200k and grow faster than n);
it keeps the raw vectors, so every reported score is the exact cosine; ``nprobe`` trades
recall for time at query time without a rebuild; and its inverted lists are read
memory-mapped, so the tasks on a host share one copy in the page cache.

Its recall rests on the vectors clustering, as embeddings do: on uniformly random vectors no
index beats scanning most of the catalog, and tuning raises nprobe toward every list
(bench/README.md, "Approximate neighbours").
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame

from pipelines.vectors.blocks import KeyBlock, stack_vectors, top_k_batch
from pipelines.vectors.search import map_query_blocks

# faiss asks for 30 to 256 training points a list; k-means costs points x lists x iterations,
# so the low end keeps the build short (1M items: 256k points)
TRAIN_ROWS_PER_LIST = 64
# faiss and numpy sum the same products in different orders
SCORE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class AnnIndex:
    """Where the index and its row ids are, and how to query it: what tasks receive."""

    index_file: str
    ids_file: str
    nlist: int
    nprobe: int

    def probing(self, nprobe: int) -> AnnIndex:
        return replace(self, nprobe=max(1, min(nprobe, self.nlist)))


def default_nlist(rows: int) -> int:
    """About 4 x sqrt(rows) lists (faiss's guideline), each trained on at least 39 points."""
    return max(1, min(round(4 * math.sqrt(rows)), rows // 39))


def gather(blocks: list[KeyBlock], positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of the rows at ``positions``, counted across the blocks in order."""
    ends = np.cumsum([block.rows for block in blocks])
    positions = np.sort(positions)
    owner = np.searchsorted(ends, positions, side="right")
    ids, vectors = [], []
    for number in np.unique(owner):
        block_ids, block_vectors = blocks[number].load()
        local = positions[owner == number] - (ends[number] - blocks[number].rows)
        ids.append(block_ids[local])
        vectors.append(np.asarray(block_vectors[local], dtype=np.float32))
    return np.concatenate(ids), np.concatenate(vectors)


def build_index(blocks: list[KeyBlock], folder: Path, nlist: int, seed: int = 0) -> AnnIndex:
    """Train on a sample, add every block, write the index and its ids under ``folder``."""
    import faiss

    rows = sum(block.rows for block in blocks)
    nlist = max(1, min(nlist, rows))
    rng = np.random.default_rng(seed)
    sample = rng.choice(rows, min(rows, TRAIN_ROWS_PER_LIST * nlist), replace=False)
    _, train = gather(blocks, sample)
    quantizer = faiss.IndexFlatIP(train.shape[1])
    index = faiss.IndexIVFFlat(quantizer, train.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(train)
    ids = []
    for block in blocks:
        block_ids, vectors = block.load()
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        ids.append(block_ids)
    stem = folder / f"ann-{uuid.uuid4().hex}"
    handle = AnnIndex(f"{stem}.faiss", f"{stem}.ids.npy", nlist, nprobe=1)
    np.save(handle.ids_file, np.concatenate(ids))
    faiss.write_index(index, handle.index_file)
    return handle


_loaded: dict[str, tuple] = {}


def _load(handle: AnnIndex):
    """The index, memory-mapped once per Python worker (Spark reuses workers across tasks);
    only the latest is kept, so a long session does not pile up finished runs' indexes."""
    if handle.index_file not in _loaded:
        import faiss

        _loaded.clear()
        index = faiss.read_index(handle.index_file, faiss.IO_FLAG_MMAP)
        _loaded[handle.index_file] = (index, np.load(handle.ids_file, mmap_mode="r"))
    return _loaded[handle.index_file]


def search(handle: AnnIndex, query_ids: np.ndarray, queries: np.ndarray, k: int) -> pd.DataFrame:
    """item_id, rank (1 = best), neighbor_id, score of each query's k best by the index,
    never itself (one extra is asked for, to drop the query wherever it ranks)."""
    index, ids = _load(handle)
    index.nprobe = handle.nprobe
    scores, labels = index.search(np.ascontiguousarray(queries, dtype=np.float32), k + 1)
    names = ids[np.maximum(labels, 0)]
    keep = (labels >= 0) & (names != query_ids[:, None])
    ranks = np.cumsum(keep, axis=1)
    keep &= ranks <= k
    rows = np.nonzero(keep)[0]
    return pd.DataFrame(
        {
            "item_id": query_ids[rows],
            "rank": ranks[keep].astype(np.int32),
            "neighbor_id": names[keep].astype(str),
            "score": scores[keep].astype(np.float32),
        }
    )


def ann_top_k(
    queries: DataFrame,
    handle: AnnIndex,
    k: int,
    query_block_rows: int,
    threads: int = 1,
    total: int | None = None,
) -> DataFrame:
    """Lazy (item_id, rank, neighbor_id, score) by the index; its files must stay on disk
    until the result is written or collected."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import faiss

        faiss.omp_set_num_threads(threads)
        for batch in batches:
            if len(batch):
                ids = batch["item_id"].to_numpy().astype(str)
                yield search(handle, ids, stack_vectors(batch["vector"]), k)

    return map_query_blocks(queries, run, query_block_rows, total)


def recall_at_k(exact: pd.DataFrame, approx: pd.DataFrame) -> float:
    """Mean share of each query's exact neighbours that ``approx`` found. A found neighbour
    counts when its score reaches the query's k-th exact score (ann-benchmarks' rule), so a
    different one of several equally similar items (exact twins) is no miss."""
    if exact.empty:
        return 1.0
    kth = exact.groupby("item_id")["score"].agg(["min", "size"])
    found = approx.join(kth, on="item_id", how="inner")
    found = found[found["score"] >= found["min"] - SCORE_TOLERANCE]
    hits = found.groupby("item_id").size().reindex(kth.index, fill_value=0)
    return float((np.minimum(hits, kth["size"]) / kth["size"]).mean())


def tune_nprobe(
    handle: AnnIndex,
    sample: tuple[np.ndarray, np.ndarray],
    exact: pd.DataFrame,
    k: int,
    target: float,
) -> tuple[AnnIndex, float]:
    """The smallest power-of-two nprobe whose recall@k on ``sample`` (ids, vectors; ``exact``
    its exact top-k) reaches ``target``, or every list; with the recall it reached."""
    ids, queries = sample
    nprobe = 1
    while True:
        probing = handle.probing(nprobe)
        recall = recall_at_k(exact, search(probing, ids, queries, k))
        if recall >= target or probing.nprobe == handle.nlist:
            return probing, recall
        nprobe *= 2


def exact_sample(
    blocks: list[KeyBlock], positions: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(ids, vectors, exact top-k rows) of the rows at ``positions`` (sorted), by the blocked
    exact search over every key block: cheap for a sample of a thousand."""
    ids, vectors = gather(blocks, positions)
    return ids, vectors, top_k_batch(ids, vectors, blocks, k)


def prepared_index(
    blocks: list[KeyBlock],
    folder: Path,
    k: int,
    nlist: int,
    nprobe: int | None,
    target: float,
    sample_rows: int = 1000,
    seed: int = 0,
) -> tuple[AnnIndex, pd.DataFrame, dict]:
    """The index, with ``nprobe`` or one tuned on a sample to reach ``target``; the exact
    top-k of another sample (disjoint above 2 x ``sample_rows``) to check the graph with;
    and what it took (seconds, the tuning sample's recall)."""
    rows = sum(block.rows for block in blocks)
    start = time.perf_counter()
    index = build_index(blocks, folder, nlist, seed)
    built = time.perf_counter()
    order = np.random.default_rng(seed + 1).permutation(rows)
    size = min(sample_rows, rows)
    check = np.sort(order[:size])
    tune = np.sort(order[rows - size :]) if nprobe is None else check[:0]
    union = np.union1d(check, tune)
    ids, vectors, exact = exact_sample(blocks, union, k)
    is_tune = np.isin(union, tune)
    details = {"ann_nlist": index.nlist, "ann_build_seconds": round(built - start, 1)}
    if nprobe is None:
        tuning = exact[exact["item_id"].isin(ids[is_tune])]
        index, recall = tune_nprobe(index, (ids[is_tune], vectors[is_tune]), tuning, k, target)
        details["ann_tuning_recall"] = round(recall, 4)
    else:
        index = index.probing(nprobe)
    details["ann_nprobe"] = index.nprobe
    details["ann_tune_seconds"] = round(time.perf_counter() - built, 1)
    return index, exact[exact["item_id"].isin(ids[np.isin(union, check)])], details
