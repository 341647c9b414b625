"""The drift check's outcomes, each reached on purpose on a small synthetic table.

The vectors form tight clusters of ``K + 1`` items, so every item's ``K`` nearest neighbours
are exactly its cluster mates. Two edits then move one measure and leave the other alone:

- a rotation of every vector keeps all cosines (stability stays 1.0) and turns the centroid
  by a chosen angle, so the centroid shift is ``1 - cos(angle)``;
- swapping the vectors of two items in different clusters keeps the set of vectors (the
  centroid does not move) and makes exactly those two items unstable: each now sits among
  another cluster, while its old mates keep two of their three neighbours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.sql.types import ArrayType, FloatType, StringType, StructField, StructType

from pipelines.validate.config import ValidateConfig
from pipelines.validate.drift import check_drift

DIM, CLUSTERS, K = 32, 10, 3
N = CLUSTERS * (K + 1)  # 40 items, all of them sentinels
MODEL = "m@torch"
# stated here, not taken from the defaults, so that each case below lands where it says
CFG = ValidateConfig(
    sentinels=N,
    sentinel_k=K,
    centroid_shift_warn=0.02,
    centroid_shift_fail=0.10,
    stability_warn=0.90,
    stability_fail=0.70,
)


def _clustered() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(CLUSTERS, DIM))
    vectors = {}
    for c, centre in enumerate(centres):
        for m in range(K + 1):
            v = centre / np.linalg.norm(centre) + 0.05 * rng.normal(size=DIM)
            vectors[f"I{c:02d}{m}"] = v / np.linalg.norm(v)
    return vectors


BASE = _clustered()


def _rotated(vectors: dict[str, np.ndarray], shift: float) -> dict[str, np.ndarray]:
    """Every vector turned in the plane of the centroid, by the angle whose centroid shift
    (1 - cosine) is ``shift``."""
    c = np.mean(list(vectors.values()), axis=0)
    c /= np.linalg.norm(c)
    u = np.random.default_rng(11).normal(size=DIM)
    u -= (u @ c) * c
    u /= np.linalg.norm(u)
    angle = math.acos(1.0 - shift)
    rotation = (
        np.eye(DIM)
        + (math.cos(angle) - 1.0) * (np.outer(c, c) + np.outer(u, u))
        + math.sin(angle) * (np.outer(u, c) - np.outer(c, u))
    )
    return {item: rotation @ v for item, v in vectors.items()}


def _swapped(vectors: dict[str, np.ndarray], pairs: int) -> dict[str, np.ndarray]:
    """The vectors of ``pairs`` pairs of items swapped, each pair across two clusters."""
    out = dict(vectors)
    for p in range(pairs):
        a, b = f"I{2 * p:02d}0", f"I{2 * p + 1:02d}0"
        out[a], out[b] = vectors[b], vectors[a]
    return out


def _frame(spark, vectors: dict[str, np.ndarray], model: str = MODEL, key: str = "item_id"):
    schema = StructType(
        [
            StructField(key, StringType()),
            StructField("vector", ArrayType(FloatType())),
            StructField("model_id", StringType()),
        ]
    )
    rows = [(item, v.astype(float).tolist(), model) for item, v in vectors.items()]
    return spark.createDataFrame(rows, schema)


def _drift(spark, tmp_path, current, previous, **kwargs):
    before = _frame(spark, previous)
    return check_drift(_frame(spark, current), before, 4, CFG, tmp_path / "staging", **kwargs)


def test_an_unchanged_version_is_ok(spark, tmp_path):
    report = _drift(spark, tmp_path, BASE, BASE)
    assert report.status == "ok", report.message
    assert report.previous_version == 4
    assert report.centroid_shift == pytest.approx(0.0, abs=1e-6)
    assert report.stability == 1.0


def test_a_moderate_centroid_shift_warns(spark, tmp_path):
    report = _drift(spark, tmp_path, _rotated(BASE, 0.05), BASE)
    assert report.status == "warn", report.message
    assert report.centroid_shift == pytest.approx(0.05, abs=1e-4)
    assert report.stability == 1.0, "a rotation keeps every neighbourhood"


def test_a_large_centroid_shift_fails(spark, tmp_path):
    report = _drift(spark, tmp_path, _rotated(BASE, 0.30), BASE)
    assert report.status == "fail", report.message
    assert report.centroid_shift == pytest.approx(0.30, abs=1e-4)
    assert report.stability == 1.0


def test_a_few_moved_neighbourhoods_warn(spark, tmp_path):
    report = _drift(spark, tmp_path, _swapped(BASE, 3), BASE)
    assert report.status == "warn", report.message
    assert report.stability == pytest.approx(1 - 6 / N)  # 0.85: two unstable items per swap
    assert report.centroid_shift == pytest.approx(0.0, abs=1e-6)


def test_scrambled_neighbourhoods_fail(spark, tmp_path):
    ids = list(BASE)
    order = np.random.default_rng(5).permutation(len(ids))
    scrambled = {item: BASE[ids[j]] for item, j in zip(ids, order, strict=True)}
    report = _drift(spark, tmp_path, scrambled, BASE)
    assert report.status == "fail", report.message
    assert report.stability < CFG.stability_fail
    assert report.centroid_shift == pytest.approx(0.0, abs=1e-6), "the same vectors, reassigned"


def test_a_changed_model_makes_drift_expected_however_large(spark, tmp_path):
    current = _frame(spark, _rotated(BASE, 0.30), model="m@onnx")
    report = check_drift(current, _frame(spark, BASE), 4, CFG, tmp_path / "staging")
    assert report.status == "expected", report.message
    assert "m@torch" in report.message and "m@onnx" in report.message
    assert report.centroid_shift is None and report.stability is None


def test_without_a_previous_version_there_is_nothing_to_compare(spark, tmp_path):
    report = check_drift(_frame(spark, BASE), None, None, CFG, tmp_path / "staging")
    assert report.status == "none"
    assert report.previous_version is None and report.centroid_shift is None


def test_a_users_table_is_compared_on_its_own_key(spark, tmp_path):
    current = _frame(spark, _swapped(BASE, 3), key="user_id")
    previous = _frame(spark, BASE, key="user_id")
    report = check_drift(current, previous, 4, CFG, tmp_path / "staging", key="user_id")
    assert report.status == "warn", report.message
    assert report.stability == pytest.approx(1 - 6 / N)


def test_staged_key_blocks_are_removed_and_crashed_leftovers_swept(spark, tmp_path):
    staging = tmp_path / "staging"
    leftover = staging / "sentinels-999-crashed"  # a dead run's folder: its lock is not held
    leftover.mkdir(parents=True)
    (leftover / "keys-old.ids.npy").write_bytes(b"x")
    (staging / "sentinels-999-crashed.lock").touch()

    report = check_drift(_frame(spark, _swapped(BASE, 1)), _frame(spark, BASE), 4, CFG, staging)
    assert report.status == "ok", report.message  # 0.95 >= the warn threshold
    assert report.stability == pytest.approx(1 - 2 / N)
    assert list(staging.iterdir()) == []


def test_a_changed_text_template_makes_drift_expected_however_large(spark, tmp_path):
    templates = ("{title}", "{title}. {description}")
    report = _drift(spark, tmp_path, _rotated(BASE, 0.30), BASE, templates=templates)
    assert report.status == "expected", report.message
    assert "'{title}'" in report.message and "'{title}. {description}'" in report.message
    assert report.centroid_shift is None


def test_the_same_or_an_unrecorded_template_is_measured(spark, tmp_path):
    for templates in (("{title}", "{title}"), (None, "{title}")):
        report = _drift(spark, tmp_path, _rotated(BASE, 0.30), BASE, templates=templates)
        assert report.status == "fail", report.message


def test_an_accepted_failure_keeps_its_measures_and_names_who(spark, tmp_path):
    from datetime import UTC, datetime

    failed = _drift(spark, tmp_path, _rotated(BASE, 0.30), BASE)
    accepted = failed.accepted("alice", datetime(2026, 3, 1, tzinfo=UTC))
    assert accepted.status == "accepted" and accepted.accepted_by == "alice"
    assert accepted.accepted_at == "2026-03-01T00:00:00+00:00"
    assert accepted.centroid_shift == failed.centroid_shift
    assert "accepted by alice" in accepted.message
