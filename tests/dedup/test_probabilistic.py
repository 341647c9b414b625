"""The Spark side of the Fellegi-Sunter path: term frequencies and pair levels."""

from __future__ import annotations

import pytest

from pipelines.dedup import comparisons as cmp
from pipelines.dedup.probabilistic import pair_levels, prepared

pytestmark = pytest.mark.slow

N_FIELDS = 14


def _catalog(spark):
    names = [f"f{i}" for i in range(N_FIELDS)]
    rows = [
        (f"i{r}", *[("common" if r % 2 else f"value {r} {i}") for i in range(N_FIELDS)])
        for r in range(6)
    ]
    rows.append(("i6", *["" for _ in names]))
    return spark.createDataFrame(rows, ["item_id", *names]), names


def test_term_frequencies_of_many_fields_keep_the_plan_linear(spark):
    fields, names = _catalog(spark)
    records = prepared(fields, names)
    # each field's frequencies once: a plan that nests the records per field doubles per field
    plan = records._jdf.queryExecution().analyzed().toString()
    assert len(plan) < 20_000 * N_FIELDS
    got = {r["item_id"]: r for r in records.collect()}
    assert got["i1"]["tf_f0"] == pytest.approx(3 / 6)  # "common": 3 of the 6 known values
    assert got["i0"]["tf_f13"] == pytest.approx(1 / 6)
    assert got["i6"]["tf_f0"] is None  # missing is no value, and not counted


def test_pair_levels_compare_every_field_of_a_self_join(spark):
    fields, names = _catalog(spark)
    records = prepared(fields, names)
    pairs = [("i1", "i3", 0.9), ("i0", "i2", 0.8), ("i0", "i6", 0.7)]
    candidates = spark.createDataFrame(pairs, "a string, b string, cosine float")
    kinds = ["token"] * N_FIELDS
    got = {(r.a, r.b): r for r in pair_levels(candidates, records, names, kinds).collect()}
    assert got[("i1", "i3")]["levels"] == [cmp.IDENTICAL] * N_FIELDS
    assert got[("i1", "i3")]["tf"] == pytest.approx([0.5] * N_FIELDS)
    assert got[("i0", "i6")]["levels"] == [cmp.MISSING] * N_FIELDS
    assert all(level < cmp.IDENTICAL for level in got[("i0", "i2")]["levels"])
