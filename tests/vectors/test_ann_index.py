"""The faiss IVF-Flat helpers against brute force, without Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.vectors import brute_force, clustered_unit_vectors, item_ids

from pipelines.vectors.ann import (
    default_nlist,
    gather,
    prepared_index,
    recall_at_k,
    search,
    tune_nprobe,
)
from pipelines.vectors.blocks import write_key_block


def _blocks(folder, vectors, rows=700):
    ids = item_ids(len(vectors))
    blocks = []
    for start in range(0, len(vectors), rows):
        frame = pd.DataFrame({"item_id": ids[start : start + rows]})
        frame["vector"] = list(vectors[start : start + rows])
        blocks.append(write_key_block(folder, frame))
    return blocks


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    vectors = clustered_unit_vectors(3000)
    return vectors, _blocks(tmp_path_factory.mktemp("keys"), vectors), brute_force(vectors, 10)


def test_tuned_index_finds_the_exact_neighbours_and_never_the_item(clustered, tmp_path):
    vectors, blocks, exact = clustered
    index, check, details = prepared_index(
        blocks, tmp_path, k=10, nlist=32, nprobe=None, target=0.96
    )
    got = search(index, item_ids(3000), vectors, k=10)
    assert recall_at_k(exact, got) >= 0.95
    assert details["ann_tuning_recall"] >= 0.96 and details["ann_nprobe"] == index.nprobe
    assert not (got.item_id == got.neighbor_id).any()
    assert (got.groupby("item_id").cumcount() + 1 == got["rank"]).all()
    # scores are the vectors' own cosines, not an approximation of them
    at = pd.Series(range(3000), index=item_ids(3000))
    cosines = np.einsum("ij,ij->i", vectors[at[got.item_id]], vectors[at[got.neighbor_id]])
    np.testing.assert_allclose(got.score, cosines, atol=1e-5)
    # the check sample is another thousand items with their exact top-k
    assert check.item_id.nunique() == 1000 and check.groupby("item_id").size().eq(10).all()


def test_one_probe_of_many_lists_misses_neighbours(clustered, tmp_path):
    vectors, blocks, exact = clustered
    index, _, details = prepared_index(blocks, tmp_path, k=10, nlist=64, nprobe=1, target=0.95)
    assert details["ann_nprobe"] == 1 and "ann_tuning_recall" not in details
    assert recall_at_k(exact, search(index, item_ids(3000), vectors, k=10)) < 0.95


def test_tuning_stops_at_the_first_power_of_two_that_reaches_the_target(clustered, tmp_path):
    vectors, blocks, exact = clustered
    index, _, _ = prepared_index(blocks, tmp_path, k=10, nlist=64, nprobe=1, target=0.95)
    sample = (item_ids(3000)[:500], vectors[:500])
    truth = exact[exact.item_id.isin(sample[0])]
    tuned, recall = tune_nprobe(index, sample, truth, k=10, target=0.99)
    assert recall >= 0.99 and tuned.nprobe & (tuned.nprobe - 1) == 0
    if tuned.nprobe > 1:
        below = search(index.probing(tuned.nprobe // 2), *sample, k=10)
        assert recall_at_k(truth, below) < 0.99
    everything, _ = tune_nprobe(index, sample, truth, k=10, target=1.01)  # out of reach
    assert everything.nprobe == 64


def test_recall_counts_an_equally_similar_twin_as_found():
    exact = pd.DataFrame(
        {"item_id": ["a", "a", "b", "b"], "rank": [1, 2, 1, 2], "neighbor_id": ["x", "y", "x", "y"],
         "score": [0.9, 0.8, 0.7, 0.6]}
    )  # fmt: skip
    approx = pd.DataFrame(
        {"item_id": ["a", "a", "b"], "rank": [1, 2, 1], "neighbor_id": ["x", "twin-of-y", "z"],
         "score": [0.9, 0.8, 0.5]}
    )  # fmt: skip
    assert recall_at_k(exact, approx) == pytest.approx((1.0 + 0.0) / 2)
    assert recall_at_k(exact.iloc[0:0], approx) == 1.0


def test_gather_reads_rows_across_blocks(clustered):
    vectors, blocks, _ = clustered
    ids, rows = gather(blocks, np.array([2999, 0, 700, 699]))
    assert list(ids) == ["I00000", "I00699", "I00700", "I02999"]
    np.testing.assert_array_equal(rows, vectors[[0, 699, 700, 2999]])


@pytest.mark.parametrize("rows, lists", [(1, 1), (100, 2), (3000, 76), (1_000_000, 4000)])
def test_default_nlist_is_about_4_sqrt_n_with_39_points_a_list(rows, lists):
    assert default_nlist(rows) == lists
