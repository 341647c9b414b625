"""The users base: hourly runs recompute a user from their sums before the window's first day
plus their events since, and give the same vectors as a recompute over every event; a base
that no longer matches its events or catalog version is rebuilt, never used."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from helpers.data import make_catalog
from helpers.pipeline_lake import PipelineLake
from pyspark.sql import functions as F

from pipelines.embed.events import EVENT_DATE
from pipelines.embed.user_base import BaseState, UserBase
from pipelines.embed.users import text_vectors
from pipelines.lake import open_lake
from pipelines.lake.errors import ConcurrentWriteError
from pipelines.lake.partitions import Partitions
from pipelines.methods.user_vectors import user_vectors, weighted_events
from pipelines.runtime.reads import live_model_id, live_vectors
from pipelines.tables import EVENTS, USER_BASE, USER_EMBEDDINGS

pytestmark = pytest.mark.slow
COLUMNS = ["user_id", "item_id", "event_type", "ts", "query"]


def _hour(day: int, hour: int) -> tuple[datetime, datetime]:
    return datetime(2026, 1, day, hour, tzinfo=UTC), datetime(2026, 1, day, hour + 1, tzinfo=UTC)


def _history() -> list[tuple]:
    """Four users, two events a day on 1-6 January (a buy now and then, some with text)."""
    rows = []
    for day in range(1, 7):
        for user in range(4):
            for hour, kind in ((10, "view"), (14, "buy" if (user + day) % 3 == 0 else "view")):
                item = f"I{1 + (user * 7 + day * 3 + hour) % 30:04d}"
                query = "warm winter jacket" if (user + day + hour) % 4 == 0 else ""
                rows.append((f"U{user}", item, kind, f"2026-01-{day:02d}T{hour}:20:00Z", query))
    return rows


def _late(day: int, hour: int, users: range) -> list[tuple]:
    """Events in one hour that arrive after the first load (one more user than before)."""
    return [
        (f"U{u}", f"I{1 + (u * 5 + day) % 30:04d}", "view", f"2026-01-{day:02d}T{hour}:40:00Z", "")
        for u in users
    ]


@pytest.fixture(scope="module")
def loaded(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("user-base")
    pd.DataFrame(_history(), columns=COLUMNS).to_csv(folder / "events.csv", index=False)
    sections = {
        "events": {"source": "events.csv", "format": "csv", "timestamp_column": "ts",
                   "type_column": "event_type", "text_column": "query"},
        "users": {"event_weights": {"buy": 3.0}, "half_life_days": 2.0},
    }  # fmt: skip
    built = PipelineLake(spark, folder, make_catalog(30), **sections)
    built.run("embed-catalog", "validate-catalog")
    built.ctx.close()
    return built


@pytest.fixture
def lake(loaded, tmp_path):
    copy = loaded.copy_to(tmp_path / "lake")
    yield copy
    copy.ctx.close()


def _run(lake, interval, rows: list[tuple] = ()) -> str:
    frame = pd.DataFrame([*_history(), *rows], columns=COLUMNS)
    frame.to_csv(lake.folder / "events.csv", index=False)
    lake.ctx.interval = interval
    [result] = lake.run("embed-events")
    return result.details["users_base"]


def _assert_users_match_a_full_recompute(lake) -> None:
    ctx = lake.ctx
    ctx.lake.begin()
    events = ctx.lake.read(EVENTS)
    model_id = live_model_id(ctx.lake)
    cfg, texts = ctx.settings.users, text_vectors(ctx, events, model_id)
    expected = user_vectors(weighted_events(events, live_vectors(ctx), cfg, texts), cfg)
    expected = expected.toPandas()
    found = ctx.lake.read(USER_EMBEDDINGS).toPandas().set_index("user_id")
    assert sorted(found.index) == sorted(expected.user_id)
    for row in expected.itertuples():
        np.testing.assert_allclose(found.vector[row.user_id], row.vector, atol=1e-5)
        assert found.n_events[row.user_id] == row.n_events
        assert found.last_event_at[row.user_id] == row.last_event_at


def test_hourly_runs_reuse_fold_or_rebuild_the_base_and_match_a_full_recompute(lake):
    assert _run(lake, None).startswith("rebuilt before 2026-01-06")
    _assert_users_match_a_full_recompute(lake)
    late = _late(6, 9, range(5))
    assert _run(lake, _hour(6, 9), late) == "reused (sealed before 2026-01-06)"
    _assert_users_match_a_full_recompute(lake)
    late += _late(3, 11, range(3))
    action = _run(lake, _hour(3, 11), late)  # a late hour of an earlier day: a backfill
    assert action.startswith("rebuilt before 2026-01-03 (the window starts before the seal")
    _assert_users_match_a_full_recompute(lake)
    late += _late(6, 15, range(2, 4))
    assert _run(lake, _hour(6, 15), late) == "folded 2026-01-03 to 2026-01-06"
    _assert_users_match_a_full_recompute(lake)
    assert lake.ctx.lake.read(USER_BASE).count() == 4  # U4's only events are after the seal


def test_a_rerun_after_a_crash_between_the_base_and_the_users_commit_is_exact(lake, monkeypatch):
    _run(lake, None)
    users_version = lake.ctx.lake.version(USER_EMBEDDINGS)
    engine, merge = lake.ctx.lake, lake.ctx.lake.merge

    def crash_on_users(df, table, *args, **kwargs):
        if table == USER_EMBEDDINGS:
            raise RuntimeError("killed before the users MERGE")
        return merge(df, table, *args, **kwargs)

    late = _late(6, 9, range(4)) + _late(5, 9, range(2))
    monkeypatch.setattr(engine, "merge", crash_on_users)
    with pytest.raises(RuntimeError, match="killed"):
        _run(lake, (datetime(2026, 1, 5, 9, tzinfo=UTC), _hour(6, 9)[1]), late)
    assert engine.version(USER_EMBEDDINGS) == users_version
    monkeypatch.setattr(engine, "merge", merge)
    _run(lake, (datetime(2026, 1, 5, 9, tzinfo=UTC), _hour(6, 9)[1]), late)
    _assert_users_match_a_full_recompute(lake)


def test_a_base_whose_events_changed_underneath_is_rebuilt(lake):
    _run(lake, None)
    engine = lake.ctx.lake
    engine.begin()
    day_two = Partitions.of(EVENT_DATE, [date(2026, 1, 2)])
    rows = engine.read(EVENTS, partitions=day_two)
    bought = F.when(F.col("user_id") == "U1", "buy").otherwise(F.col("event_type"))
    edited = rows.withColumn("event_type", bought).toPandas()  # as many rows, other weights
    edited = lake.spark.createDataFrame(edited, rows.schema)
    engine.write(edited, EVENTS, "hand-edit", replace=day_two)
    action = _run(lake, _hour(6, 9), _late(6, 9, range(4)))
    assert action == (
        "rebuilt before 2026-01-06 (the events before the seal changed since the base summed them)"
    )
    _assert_users_match_a_full_recompute(lake)


def test_a_change_of_the_users_weights_rebuilds_the_base(lake):
    _run(lake, None)
    lake.settings.users.half_life_days = 9.0
    action = _run(lake, _hour(6, 9), _late(6, 9, range(4)))
    assert action.endswith("(the [users] weights, half-life or event texts changed)")
    _assert_users_match_a_full_recompute(lake)


def test_a_base_another_run_changed_meanwhile_is_not_overwritten(lake, monkeypatch):
    _run(lake, None)
    engine, other = lake.ctx.lake, open_lake(lake.spark, lake.settings.lake)
    stale = UserBase._stale

    def another_run_commits_first(self, state, seal, events_version):
        rows = other.read(USER_BASE).toPandas()  # before another run's commit replaces them
        rows = lake.spark.createDataFrame(rows, other.read(USER_BASE).schema)
        other.write(rows, USER_BASE, "another-run", metadata=state.metadata())
        return stale(self, state, seal, events_version) or "forced"

    monkeypatch.setattr(UserBase, "_stale", another_run_commits_first)
    with pytest.raises(ConcurrentWriteError, match="users/base changed while this run worked"):
        _run(lake, _hour(3, 11), _late(3, 11, range(2)))
    assert engine.history(USER_BASE)[0].run_id == "another-run"


def test_what_a_base_summed_round_trips_through_its_commit():
    state = BaseState(date(2026, 1, 6), catalog="t@6", events="ab12", settings="cd34")
    assert BaseState.of_commit(state.metadata() | {"run_id": "r"}) == state
    assert BaseState.of_commit({"run_id": "r"}) is None
