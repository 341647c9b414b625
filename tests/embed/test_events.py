"""Events by day: an interval run reads and rewrites only the days its window touches, a
lookback picks up late events without duplicates, old unpartitioned tables are upgraded."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from deltalake import DeltaTable
from helpers.data import make_catalog
from helpers.pipeline_lake import PipelineLake

from pipelines.embed.events import EVENT_DATE, window_dates
from pipelines.tables import EVENTS, EVENTS_QUARANTINE

pytestmark = pytest.mark.slow
HOUR_10 = (datetime(2026, 1, 3, 10, tzinfo=UTC), datetime(2026, 1, 3, 11, tzinfo=UTC))
HOUR_11 = (datetime(2026, 1, 3, 11, tzinfo=UTC), datetime(2026, 1, 3, 12, tzinfo=UTC))


def _events(extra: list[tuple] = ()) -> pd.DataFrame:
    rows = [
        (f"U{u}", f"I{1 + (u + d) % 30:04d}", "view", f"2026-01-{d:02d}T10:{u:02d}:00Z")
        for d in range(1, 6)
        for u in range(4)
    ]
    rows += [("U9", "I9999", "view", "2026-01-03T10:30:00Z"), ("U9", "I0001", "view", "soon")]
    return pd.DataFrame([*rows, *extra], columns=["user_id", "item_id", "event_type", "ts"])


@pytest.fixture
def lake(spark, tmp_path):
    _events().to_csv(tmp_path / "events.csv", index=False)
    sections = {"events": {"source": "events.csv", "format": "csv", "timestamp_column": "ts"}}
    built = PipelineLake(spark, tmp_path, make_catalog(30), **sections)
    built.run("embed-catalog", "validate-catalog")
    yield built
    built.ctx.close()


def _run(lake, interval, lookback: int = 0):
    lake.ctx.interval = interval
    lake.settings.events.lookback_hours = lookback
    return lake.run("embed-events")


def _files(lake, table) -> set[str]:
    return set(DeltaTable(str(lake.ctx.lake.path(table))).file_uris())


def _keys(lake) -> list[tuple]:
    rows = lake.ctx.lake.read(EVENTS).select("user_id", "item_id", "event_time").collect()
    return sorted(tuple(r) for r in rows)


def test_both_tables_are_partitioned_by_event_date(lake):
    _run(lake, None)
    engine = lake.ctx.lake
    assert engine.partition_columns(EVENTS) == [EVENT_DATE]
    assert engine.partition_columns(EVENTS_QUARANTINE) == [EVENT_DATE]
    dates = {r.event_date for r in engine.read(EVENTS).select(EVENT_DATE).distinct().collect()}
    assert dates == {date(2026, 1, d) for d in range(1, 6)}
    bad = {r.reason: r.event_date for r in engine.read(EVENTS_QUARANTINE).collect()}
    assert bad == {"unknown_item": date(2026, 1, 3), "bad_timestamp": None}


def test_an_hourly_run_rewrites_only_its_day(lake):
    _run(lake, None)
    before, events = _files(lake, EVENTS), _keys(lake)
    _run(lake, HOUR_10)
    after = _files(lake, EVENTS)
    other_days = {f for f in before if "2026-01-03" not in f}
    assert other_days and other_days <= after  # not rewritten
    assert len(after - before) >= 1 and all("2026-01-03" in f for f in after - before)
    assert _keys(lake) == events  # the same rows: the hour's were replaced by themselves
    assert lake.ctx.lake.read(EVENTS_QUARANTINE).count() == 2


def test_a_late_event_is_picked_up_by_the_lookback_once(lake):
    _run(lake, None)
    late = ("U1", "I0020", "buy", "2026-01-03T10:59:00Z")  # arrives after hour 10 ran
    _events([late]).to_csv(lake.folder / "events.csv", index=False)
    _run(lake, HOUR_11)  # no lookback: hour 10 is not re-read
    assert (late[0], late[1]) not in {(u, i) for u, i, _ in _keys(lake)}
    _run(lake, HOUR_11, lookback=1)
    _run(lake, HOUR_11, lookback=1)  # and again: no duplicate
    keys = _keys(lake)
    assert [k for k in keys if k[:2] == late[:2]] == [("U1", "I0020", datetime(2026, 1, 3, 10, 59))]
    assert len(keys) == len(set(keys)) == 21


def test_an_unpartitioned_table_of_an_older_version_is_upgraded_with_its_rows(lake, spark):
    _run(lake, None)
    engine = lake.ctx.lake
    for table in (EVENTS, EVENTS_QUARANTINE):  # as an older version wrote them
        rows = engine.read(table).drop(EVENT_DATE)
        if table == EVENTS_QUARANTINE:
            rows = rows.drop("event_time")
        engine.write(rows.toPandas().pipe(spark.createDataFrame), table, "old")
        assert engine.partition_columns(table) == []
    events = _keys(lake)
    _run(lake, HOUR_10)
    assert engine.partition_columns(EVENTS) == engine.partition_columns(EVENTS_QUARANTINE)
    assert engine.partition_columns(EVENTS) == [EVENT_DATE]
    assert _keys(lake) == events
    bad = {r.reason: r.event_date for r in engine.read(EVENTS_QUARANTINE).collect()}
    assert bad == {"unknown_item": date(2026, 1, 3), "bad_timestamp": None}


def test_a_window_covers_every_utc_date_it_touches():
    night = (datetime(2026, 1, 3, 23, tzinfo=UTC), datetime(2026, 1, 4, 1, tzinfo=UTC))
    assert window_dates(night) == [date(2026, 1, 3), date(2026, 1, 4)]
    assert window_dates(HOUR_10) == [date(2026, 1, 3)]
    midnight = (datetime(2026, 1, 3, 23, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC))
    assert window_dates(midnight) == [date(2026, 1, 3)]
