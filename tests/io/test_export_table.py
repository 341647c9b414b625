"""export_table: one CSV or Parquet file of a table; in CSV, map, struct and array columns are
JSON text (dedup/pairs holds three maps), in Parquet they keep their types."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest
from pyspark.sql import types as T

from pipelines.io.export import export_table
from pipelines.lake import LakeConfig, open_lake

SCORES = T.MapType(T.StringType(), T.DoubleType())
PAIRS = T.StructType([
    T.StructField("a", T.StringType()),
    T.StructField("b", T.StringType()),
    T.StructField("cosine", T.FloatType()),
    T.StructField("field_scores", SCORES),
    T.StructField("field_levels", T.MapType(T.StringType(), T.IntegerType())),
    T.StructField("decision", T.StringType()),
    T.StructField("source", T.StructType([
        T.StructField("file", T.StringType()),
        T.StructField("tags", T.ArrayType(T.StringType())),
        T.StructField("weights", SCORES),
        T.StructField("raw", T.BinaryType()),
    ])),
    T.StructField("history", T.ArrayType(T.StructType([T.StructField("v", T.IntegerType())]))),
])  # fmt: skip
ROWS = [
    ("P1", "P2", 0.75, {"title": 0.8, "brand": None}, {"title": 3, "brand": 0}, "match",
     ("a.csv", ["x", "y"], {"w": 1.5}, b"\x00\xff"), [(1,), (2,)]),
    ("P3", "P4", 0.5, None, None, "no_match", None, None),
]  # fmt: skip


@pytest.fixture(scope="module")
def pairs(spark, tmp_path_factory):
    """A dedup/pairs-like table read back through the lake, as the export command reads it."""
    lake = open_lake(spark, LakeConfig(root=tmp_path_factory.mktemp("export") / "lake"))
    lake.write(spark.createDataFrame(ROWS, PAIRS), "dedup/pairs", run_id="t")
    return lake.read("dedup/pairs")


def test_csv_writes_maps_structs_and_arrays_as_json(pairs, tmp_path):
    out = tmp_path / "pairs.csv"
    export_table(pairs, out, "csv")
    with out.open(newline="") as handle:
        first, second = csv.DictReader(handle)
    assert json.loads(first["field_scores"]) == {"title": 0.8, "brand": None}
    assert json.loads(first["field_levels"]) == {"title": 3, "brand": 0}
    source = json.loads(first["source"])
    assert source["file"] == "a.csv" and source["tags"] == ["x", "y"]
    assert source["weights"] == {"w": 1.5}
    assert json.loads(first["history"]) == [{"v": 1}, {"v": 2}]
    assert (first["a"], first["decision"], float(first["cosine"])) == ("P1", "match", 0.75)
    assert second["field_scores"] == second["source"] == ""  # null is an empty cell


def test_parquet_keeps_the_nested_types(pairs, tmp_path):
    out = tmp_path / "pairs.parquet"
    export_table(pairs, out, "parquet")
    table = pq.read_table(out)
    assert str(table.schema.field("field_scores").type).startswith("map<string, double")
    assert table.column("source").type.num_fields == 4
    assert table.column("field_levels").to_pylist()[0] == [("title", 3), ("brand", 0)]


def test_the_file_replaces_an_older_export_and_leaves_nothing_beside_it(pairs, tmp_path):
    out = tmp_path / "pairs.csv"
    out.write_text("old")
    export_table(pairs, out, "csv")
    assert out.read_text().startswith("a,b,cosine,")
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.csv"]
