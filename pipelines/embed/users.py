"""The embed-events stage: ingest the events, then embed the users who have new ones."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.embed.errors import UsersInputError
from pipelines.embed.events import (
    EVENT_DATE,
    in_interval,
    ingest_events,
    run_window,
    window_dates,
)
from pipelines.embed.user_base import UserBase, since
from pipelines.encoder.auto import resolve_backend
from pipelines.encoder.udf import embedding_column
from pipelines.lake.partitions import Partitions
from pipelines.methods.user_vectors import user_vectors, weighted_events
from pipelines.runtime.context import RunContext, StageResult
from pipelines.runtime.reads import live_model_id, live_vectors, validated_version
from pipelines.runtime.spark import task_threads
from pipelines.tables import CATALOG_EMBEDDINGS, EVENTS, EXPECTED_LIVE_ROWS, USER_EMBEDDINGS


def text_vectors(ctx: RunContext, events: DataFrame, catalog_model: str | None) -> DataFrame | None:
    """(text, text_vector) of the events' distinct texts, embedded like the catalog."""
    if not ctx.settings.events.text_column or ctx.settings.users.text_weight == 0:
        return None
    spec = resolve_backend(ctx.settings.model, ctx.cache_dir, task_threads(ctx.spark))
    if catalog_model and spec.model_id != catalog_model:
        raise UsersInputError(
            f"event texts would be embedded with {spec.model_id} but {CATALOG_EMBEDDINGS} holds"
            f" {catalog_model} vectors; re-run embed-catalog with the current [model] settings"
        )
    texts = events.select("text").where(F.col("text").isNotNull()).distinct()
    return texts.select("text", embedding_column(spec, F.col("text")).alias("text_vector"))


def embed_events(ctx: RunContext) -> StageResult:
    """Ingest the interval's events, then recompute the users who have events in it from
    the users base (their sums before the window's first day) plus their events since, and
    MERGE them into the users table; a run without an interval recomputes every user."""
    counts = ingest_events(ctx)
    events = ctx.lake.read(EVENTS)
    events_version = ctx.lake.inputs[EVENTS]
    catalog_version = validated_version(ctx)
    items = live_vectors(ctx, catalog_version)
    model_id = live_model_id(ctx.lake, catalog_version)
    catalog = f"{ctx.lake.table_id(CATALOG_EMBEDDINGS)}@{catalog_version}"
    base = UserBase(ctx, items, catalog, lambda rows: text_vectors(ctx, rows, model_id))
    window = run_window(ctx)
    if window is None:
        seal, rebuild = last_event_date(events), "a run without an interval reads every event"
    else:
        seal, rebuild = window_dates(window)[0], None
    summed = None if seal is None else base.sealed_at(seal, events, events_version, rebuild)
    recent = events if seal is None else since(events, seal)
    everyone = window is None or not ctx.lake.exists(USER_EMBEDDINGS)
    if not everyone:
        touched = touched_users(ctx, window)
        recent, summed = recent.join(touched, "user_id"), summed.join(touched, "user_id", "semi")
    cfg = ctx.settings.users
    weighted = weighted_events(recent, items, cfg, base.texts(recent), summed)
    fresh = user_vectors(weighted, cfg).select(
        "*", F.lit(model_id or "").alias("model_id"), F.lit(ctx.run_id).alias("run_id")
    )
    if everyone:
        expected = count_expected_users(events, items)
    else:
        expected = count_merged_users(ctx, recent, summed, items)
    metadata = {EXPECTED_LIVE_ROWS: expected}
    if window is None:  # every user was recomputed: the table is rebuilt
        version = ctx.lake.write(fresh, USER_EMBEDDINGS, ctx.run_id, metadata=metadata)
    else:  # only the window's users change: one MERGE by user_id
        version = ctx.lake.merge(fresh, USER_EMBEDDINGS, ["user_id"], ctx.run_id, metadata)
    users = ctx.lake.read(USER_EMBEDDINGS, version).count()
    quarantined = sum(n for reason, n in counts.items() if reason != "clean")
    return StageResult(
        stage="embed-events",
        rows_read=sum(counts.values()),
        embedded=users,
        quarantined=quarantined,
        table_version=version,
        details={
            "events": counts,
            "interval": [str(t) for t in ctx.interval or ()],
            "users_base": base.action or "none (no events)",
        },
    )


def last_event_date(events: DataFrame):
    """The newest event_date of the clean events (None: no events): a run without an
    interval seals the base there, so the next hourly run finds it sealed at its day."""
    return events.agg(F.max(EVENT_DATE)).first()[0]


def touched_users(ctx: RunContext, window) -> DataFrame:
    """The users with events in the run's window, found in the window's days alone
    (adaptive execution broadcasts them when few, as an hour's users are)."""
    days = Partitions.of(EVENT_DATE, window_dates(window))
    rows = ctx.lake.read(EVENTS, partitions=days)
    return rows.filter(in_interval(F.col("event_time"), window)).select("user_id").distinct()


def count_merged_users(
    ctx: RunContext, recent: DataFrame, summed: DataFrame, items: DataFrame
) -> int:
    """The rows an interval run's MERGE must leave: the users the table held before it, and
    the touched users with a clean event on a live item, since the seal or in the base
    (counted from the inputs, not the result, so a MERGE that loses rows fails validation)."""
    before = ctx.lake.read(USER_EMBEDDINGS).select("user_id")
    live = recent.select("user_id", "item_id").join(items.select("item_id"), "item_id")
    fresh = live.select("user_id").unionByName(summed.select("user_id"))
    return before.unionByName(fresh).distinct().count()


def count_expected_users(events: DataFrame, items: DataFrame) -> int:
    """Users with a clean event on a live catalog item: the rows the users table must hold.
    (A user whose every item was deleted from the catalog since keeps a stale row until a
    full rebuild, a manual run without an interval; validation reports it as a count mismatch.)"""
    live = items.select("item_id")
    return (
        events.select("user_id", "item_id")
        .join(live, "item_id")
        .select("user_id")
        .distinct()
        .count()
    )
