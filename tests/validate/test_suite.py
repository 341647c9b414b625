"""Each vector-aware expectation fails on a table crafted to break it."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql.types import ArrayType, FloatType, StringType, StructField, StructType

from pipelines.validate.config import ValidateConfig
from pipelines.validate.metrics import model_dimension, with_vector_metrics
from pipelines.validate.suite import expectations, run_suite

DIM = 8
SCHEMA = StructType(
    [
        StructField("item_id", StringType()),
        StructField("vector", ArrayType(FloatType())),
        StructField("text", StringType()),
        StructField("model_id", StringType()),
    ]
)


def _good_rows(n: int = 20) -> list[list]:
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n):
        v = rng.normal(size=DIM)
        rows.append(
            [f"I{i}", (v / np.linalg.norm(v)).astype(float).tolist(), f"text {i}", "m@torch"]
        )
    return rows


def _nan(rows):
    rows[0][1][3] = float("nan")


def _wrong_dim(rows):
    rows[1][1] = rows[1][1][:-1]


def _unnormalised(rows):
    rows[2][1] = [x * 1.5 for x in rows[2][1]]


def _duplicate_id(rows):
    rows[3][0] = rows[4][0]


def _zero(rows):
    rows[5][1] = [0.0] * DIM


def _shared_vector(rows):
    for i in range(6, 12):  # 6 of 20 rows share one vector across different texts
        rows[i][1] = rows[6][1]


def _two_models(rows):
    rows[7][3] = "m@onnx"


CASES = [
    (_nan, "expect_column_values_to_be_in_set", "all_finite"),
    (_wrong_dim, "expect_column_values_to_be_in_set", "dim"),
    (_unnormalised, "expect_column_values_to_be_between", "norm"),
    (_duplicate_id, "expect_column_values_to_be_unique", "item_id"),
    (_zero, "expect_column_values_to_be_in_set", "is_zero"),
    (_shared_vector, "expect_column_values_to_be_in_set", "duplicate_vector"),
    (_two_models, "expect_column_unique_value_count_to_be_between", "model_id"),
]


def _validate(spark, rows, tmp_path, expected_rows: int = 20):
    df = with_vector_metrics(spark.createDataFrame(rows, SCHEMA))
    suite = expectations(ValidateConfig(), expected_rows, DIM)
    return run_suite(df, "test_suite", suite)


def test_good_table_passes_and_writes_no_gx_site(spark, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcome = _validate(spark, _good_rows(), tmp_path)
    assert outcome.success, outcome.failures
    assert len(outcome.results) == 9 and all(r["success"] for r in outcome.results)
    assert list(tmp_path.iterdir()) == []  # the stage writes the report page itself


@pytest.mark.parametrize(
    ("corrupt", "expectation", "column"), CASES, ids=lambda c: getattr(c, "__name__", c)
)
def test_each_defect_fails_its_expectation(spark, tmp_path, corrupt, expectation, column):
    rows = _good_rows()
    corrupt(rows)
    outcome = _validate(spark, rows, tmp_path)
    failed = {(r["expectation"], r["column"]) for r in outcome.results if not r["success"]}
    assert not outcome.success
    assert (expectation, column) in failed
    message = next(f for f in outcome.failures if f.startswith(f"{expectation} on {column}"))
    assert "observed" in message


def test_row_count_must_match_valid_input(spark, tmp_path):
    outcome = _validate(spark, _good_rows(), tmp_path, expected_rows=21)
    [failure] = outcome.failures
    assert "expect_table_row_count_to_equal" in failure and "observed 20" in failure


def test_model_dimension_read_from_folder(model_path):
    assert model_dimension(model_path) == 384


def test_users_suite_keys_on_user_id_and_allows_shared_vectors(spark, tmp_path):
    rows = _good_rows()
    _shared_vector(rows)  # two users with the same single item share a vector: fine

    def validate_users(rows):
        users = spark.createDataFrame(rows, SCHEMA).withColumnRenamed("item_id", "user_id")
        suite = expectations(ValidateConfig(), 20, DIM, key="user_id", distinct_vectors=False)
        return run_suite(with_vector_metrics(users, False), "users", suite)

    outcome = validate_users(rows)
    assert outcome.success, outcome.failures
    _duplicate_id(rows)
    outcome = validate_users(rows)
    [failure] = outcome.failures
    assert failure.startswith("expect_column_values_to_be_unique on user_id")
