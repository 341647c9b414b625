"""Partitioned tables: a replace rewrites only its partitions, on both engines."""

from __future__ import annotations

from datetime import date

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from pipelines.lake import LakeError
from pipelines.lake.partitions import Partitions

DAYS = [date(2026, 1, d) for d in (1, 2, 3)]


def _events(spark, days, tag: str, per_day: int = 3):
    rows = [(f"{day}-{i}", day, tag) for day in days for i in range(per_day)]
    frame = spark.createDataFrame(rows, "key string, event_date date, tag string")
    return frame.unionByName(
        spark.createDataFrame([("untimed", None, tag)], "key string, event_date date, tag string")
    )


def _tags(lake, table="events/t") -> dict[str, str]:
    return {r.key: r.tag for r in lake.read(table).collect()}


def test_a_partition_replace_rewrites_only_its_partitions(lake, spark):
    lake.write(_events(spark, DAYS, "old"), "events/t", "run-1", partition_by="event_date")
    assert lake.partition_columns("events/t") == ["event_date"]
    before = set(DeltaTable(str(lake.path("events/t"))).file_uris())
    day2 = Partitions.of("event_date", [DAYS[1], None])
    new = _events(spark, [DAYS[1]], "new", per_day=2)
    lake.write(new, "events/t", "run-2", replace=day2)
    tags = _tags(lake)
    assert {k: t for k, t in tags.items() if k.startswith("2026-01-02")} == {
        "2026-01-02-0": "new",
        "2026-01-02-1": "new",
    }
    assert tags["untimed"] == "new"  # the null partition is replaced too
    assert sum(t == "old" for t in tags.values()) == 6  # days 1 and 3 untouched
    after = set(DeltaTable(str(lake.path("events/t"))).file_uris())
    untouched = {f for f in before if "2026-01-01" in f or "2026-01-03" in f}
    assert untouched and untouched <= after  # the other days' files were not rewritten
    assert lake.read("events/t", version=0).filter(F.col("tag") == "old").count() == 10


def test_a_partition_read_opens_only_those_partitions(lake, spark):
    lake.write(_events(spark, DAYS, "a"), "events/t", "run-1", partition_by="event_date")
    rows = lake.read("events/t", partitions=Partitions.of("event_date", [DAYS[0]])).collect()
    assert sorted(r.key for r in rows) == [f"{DAYS[0]}-{i}" for i in range(3)]
    assert all(r.event_date == DAYS[0] for r in rows)
    untimed = lake.read("events/t", partitions=Partitions.of("event_date", [None])).collect()
    assert [r.key for r in untimed] == ["untimed"]


def test_a_row_outside_the_replaced_partitions_commits_nothing(lake, spark):
    lake.write(_events(spark, DAYS, "old"), "events/t", "run-1", partition_by="event_date")
    stray = _events(spark, [DAYS[0], DAYS[2]], "new")
    with pytest.raises(Exception, match="2026-01-0[13]"):
        lake.write(stray, "events/t", "run-2", replace=Partitions.of("event_date", [DAYS[0]]))
    assert lake.version("events/t") == 0
    assert set(_tags(lake).values()) == {"old"}


def test_a_replace_of_an_unpartitioned_table_fails_naming_it(lake, spark):
    lake.write(_events(spark, DAYS, "old"), "events/t", "run-1")
    with pytest.raises(LakeError, match="events/t is partitioned by nothing"):
        lake.write(
            _events(spark, [DAYS[0]], "new"), "events/t", "run-2",
            replace=Partitions.of("event_date", [DAYS[0], None]),
        )  # fmt: skip
    lake.write(_events(spark, DAYS, "b"), "events/t", "run-3", partition_by="event_date")
    assert lake.partition_columns("events/t") == ["event_date"]
    assert set(_tags(lake).values()) == {"b"}
