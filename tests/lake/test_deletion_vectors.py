"""MERGE by deletion vectors: no data file rewritten, and deltalake's own reader (the Delta
kernel, an independent decoder) sees the same rows as Spark."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from pipelines.lake import LakeConfig, LakeError, open_lake
from pipelines.lake.deletion_vectors import z85

TABLE = "embeddings/t"


@pytest.fixture
def lake(spark, tmp_path):
    return open_lake(spark, LakeConfig(root=tmp_path, engine="delta-rs"))


def _rows(spark, ids, tag: str, parts: int = 1):
    frame = spark.createDataFrame(
        [(f"k{i:04d}", i, tag) for i in ids], "key string, n long, tag string"
    )
    return frame.repartition(parts)


def _kernel(lake) -> dict[str, str]:
    """The table as deltalake's scan reads it (deletion vectors applied by the kernel)."""
    scan = pa.RecordBatchReader.from_stream(DeltaTable(str(lake.path(TABLE))).scan()).read_all()
    keys, tags = scan["key"].to_pylist(), scan["tag"].to_pylist()
    assert len(keys) == len(set(keys)), "a key twice: a removed row came back"
    return dict(zip(keys, tags, strict=True))


def _spark(lake) -> dict[str, str]:
    rows = lake.read(TABLE).collect()
    assert len(rows) == len({r.key for r in rows})
    return {r.key: r.tag for r in rows}


def test_z85_is_zeromq_base85():
    assert z85(bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])) == "HelloWorld"


def test_a_merge_adds_only_the_changed_rows_and_rewrites_no_file(lake, spark):
    lake.write(_rows(spark, range(1000), "old", parts=4), TABLE, "run-1")
    before = set(DeltaTable(str(lake.path(TABLE))).file_uris())
    changed = _rows(spark, [*range(0, 1000, 100), 1000, 1001], "new")
    lake.merge(changed, TABLE, ["key"], "run-2")
    expected = {f"k{i:04d}": "old" for i in range(1000)}
    expected |= {f"k{i:04d}": "new" for i in [*range(0, 1000, 100), 1000, 1001]}
    assert _kernel(lake) == expected
    assert _spark(lake) == expected
    after = DeltaTable(str(lake.path(TABLE)))
    assert before <= set(after.file_uris())  # the old files stay, rows marked deleted
    new_files = set(after.file_uris()) - before
    added = sum(Path(f.removeprefix("file://")).stat().st_size for f in new_files)
    assert added < 0.2 * sum(f.stat().st_size for f in lake.path(TABLE).rglob("*.parquet"))
    assert lake.read(TABLE, version=0).count() == 1000  # time travel keeps the old rows
    assert lake.history(TABLE)[0].run_id == "run-2"


def test_merging_the_same_file_again_grows_its_vector(lake, spark):
    lake.write(_rows(spark, range(50), "v0"), TABLE, "run-1")
    for run in range(1, 4):
        lake.merge(_rows(spark, range(run, 50, 7), f"v{run}"), TABLE, ["key"], f"run-{run + 1}")
    expected = {f"k{i:04d}": "v0" for i in range(50)}
    for run in range(1, 4):
        expected |= {f"k{i:04d}": f"v{run}" for i in range(run, 50, 7)}
    assert _kernel(lake) == _spark(lake) == expected
    # the same keys again: their first file has no new deletion and must stay as it is
    lake.merge(_rows(spark, range(3, 50, 7), "v4"), TABLE, ["key"], "run-5")
    expected |= {f"k{i:04d}": "v4" for i in range(3, 50, 7)}
    assert _kernel(lake) == _spark(lake) == expected


def test_a_source_with_a_key_twice_commits_nothing(lake, spark):
    lake.write(_rows(spark, range(10), "old"), TABLE, "run-1")
    twice = _rows(spark, [1, 2], "new").unionByName(_rows(spark, [2], "again"))
    with pytest.raises(LakeError, match="occur more than once"):
        lake.merge(twice, TABLE, ["key"], "run-2")
    assert lake.version(TABLE) == 0 and set(_spark(lake).values()) == {"old"}


def test_an_overwrite_after_merges_leaves_only_its_rows(lake, spark):
    lake.write(_rows(spark, range(20), "old"), TABLE, "run-1")
    lake.merge(_rows(spark, range(5), "new"), TABLE, ["key"], "run-2")
    lake.write(_rows(spark, range(3), "fresh"), TABLE, "run-3")
    assert _kernel(lake) == _spark(lake) == {f"k{i:04d}": "fresh" for i in range(3)}
    merged = lake.read(TABLE, version=1).filter(F.col("tag") == "new").count()
    assert merged == 5


def test_the_deleted_share_counts_rows_the_vectors_remove(lake, spark):
    lake.write(_rows(spark, range(100), "old"), TABLE, "run-1")
    assert lake.deleted_fraction(TABLE) == 0.0
    lake.merge(_rows(spark, [*range(10), 100], "new"), TABLE, ["key"], "run-2")
    assert lake.deleted_fraction(TABLE) == pytest.approx(10 / 111)
    lake.write(lake.read(TABLE), TABLE, "run-3")  # a rewrite compacts them away
    assert lake.deleted_fraction(TABLE) == 0.0 and lake.read(TABLE).count() == 101
