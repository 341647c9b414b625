"""Both table engines through one interface; delta-spark only where its jar is present."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from pipelines.lake import LakeConfig, LakeError, TableNotFoundError, open_lake
from pipelines.lake.delta_spark import delta_jar_available
from pipelines.lake.errors import EngineUnavailableError


def _frame(spark, n: int, tag: str):
    return spark.range(n).select(
        F.col("id").cast("string").alias("item_id"),
        F.array(F.lit(0.6).cast("float"), F.lit(0.8).cast("float")).alias("vector"),
        F.lit(tag).alias("tag"),
        F.current_timestamp().alias("at"),
    )


def test_write_read_and_time_travel(lake, spark):
    assert lake.write(_frame(spark, 10, "a"), "embeddings/catalog", "run-a") == 0
    assert lake.write(_frame(spark, 4, "b"), "embeddings/catalog", "run-b") == 1
    assert lake.write(_frame(spark, 3, "c"), "embeddings/catalog", "run-c", mode="append") == 2
    current = lake.read("embeddings/catalog")
    assert current.count() == 7
    assert sorted(r.tag for r in current.select("tag").distinct().collect()) == ["b", "c"]
    assert lake.read("embeddings/catalog", version=0).count() == 10
    row = lake.read("embeddings/catalog", version=0).first()
    assert row.vector == pytest.approx([0.6, 0.8])


def test_history_carries_run_ids(lake, spark):
    lake.write(_frame(spark, 2, "a"), "t/x", "run-1")
    lake.write(_frame(spark, 2, "b"), "t/x", "run-2")
    history = lake.history("t/x")
    assert [(v.version, v.run_id) for v in history] == [(1, "run-2"), (0, "run-1")]


def test_merge_updates_matches_inserts_new_and_keeps_the_rest(lake, spark):
    lake.write(_frame(spark, 4, "old"), "t/m", "run-1")  # ids 0..3
    changed = _frame(spark, 6, "new").filter(F.col("item_id").isin("2", "3", "4", "5"))
    assert lake.merge(changed, "t/m", ["item_id"], "run-2") == 1
    tags = {r.item_id: r.tag for r in lake.read("t/m").collect()}
    assert tags == {"0": "old", "1": "old", "2": "new", "3": "new", "4": "new", "5": "new"}
    assert lake.history("t/m")[0].run_id == "run-2"
    assert lake.read("t/m").first().vector == pytest.approx([0.6, 0.8])
    assert lake.merge(changed, "t/fresh", ["item_id"], "run-3") == 0  # created if missing


def test_empty_table_reads_with_its_schema(lake, spark):
    lake.write(_frame(spark, 0, "none"), "t/empty", "run-1")
    df = lake.read("t/empty")
    assert df.count() == 0 and "vector" in df.columns


def test_missing_table_and_bad_name(lake):
    with pytest.raises(TableNotFoundError, match="'t/absent' does not exist"):
        lake.read("t/absent")
    with pytest.raises(LakeError, match="not valid"):
        lake.path("../escape")


def test_delta_rs_reads_footers_not_data(spark, tmp_path):
    """The driver commits from file metadata: stats hold each file's row count."""
    from deltalake import DeltaTable

    lake = open_lake(spark, LakeConfig(root=tmp_path))
    lake.write(_frame(spark, 25, "a").repartition(3), "t/stats", "run-1")
    actions = DeltaTable(str(tmp_path / "t/stats")).get_add_actions(flatten=True)
    assert sum(actions.column("num_records").to_pylist()) == 25


def test_delta_spark_without_jar_says_what_to_do(spark, tmp_path):
    if delta_jar_available(spark):
        pytest.skip("the delta-spark jar is present here")
    with pytest.raises(EngineUnavailableError, match="spark.jars.packages.*delta-rs"):
        open_lake(spark, LakeConfig(root=tmp_path, engine="delta-spark"))
