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
from pipelines.encoder.auto import resolve_backend
from pipelines.encoder.udf import embedding_column
from pipelines.lake.partitions import Partitions
from pipelines.methods.user_vectors import user_vectors
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
    """Ingest the interval's events, then recompute the vectors of the users who have events
    in it (over their whole history) and MERGE them into the users table."""
    counts = ingest_events(ctx)
    events = ctx.lake.read(EVENTS)
    history = events if ctx.interval is None else touched_history(ctx, events)
    catalog_version = validated_version(ctx)
    items = live_vectors(ctx, catalog_version)
    model_id = live_model_id(ctx.lake, catalog_version)
    texts = text_vectors(ctx, history, model_id)
    fresh = user_vectors(history, items, ctx.settings.users, texts).select(
        "*", F.lit(model_id or "").alias("model_id"), F.lit(ctx.run_id).alias("run_id")
    )
    if ctx.interval is None or not ctx.lake.exists(USER_EMBEDDINGS):
        expected = count_expected_users(events, items)
    else:
        expected = count_merged_users(ctx, history, items)
    metadata = {EXPECTED_LIVE_ROWS: expected}
    if ctx.interval is None:  # every event was read: the table is rebuilt
        version = ctx.lake.write(fresh, USER_EMBEDDINGS, ctx.run_id, metadata=metadata)
    else:  # only the interval's users change: one MERGE by user_id
        version = ctx.lake.merge(fresh, USER_EMBEDDINGS, ["user_id"], ctx.run_id, metadata)
    users = ctx.lake.read(USER_EMBEDDINGS, version).count()
    quarantined = sum(n for reason, n in counts.items() if reason != "clean")
    return StageResult(
        stage="embed-events",
        rows_read=sum(counts.values()),
        embedded=users,
        quarantined=quarantined,
        table_version=version,
        details={"events": counts, "interval": [str(t) for t in ctx.interval or ()]},
    )


def touched_history(ctx: RunContext, events: DataFrame) -> DataFrame:
    """All the events of the users with events in the run's window (found in the window's
    days alone; adaptive execution broadcasts them when few, as an hour's users are)."""
    window = run_window(ctx)
    days = Partitions.of(EVENT_DATE, window_dates(window))
    rows = ctx.lake.read(EVENTS, partitions=days)
    touched = rows.filter(in_interval(F.col("event_time"), window)).select("user_id").distinct()
    return events.join(touched, "user_id")


def count_merged_users(ctx: RunContext, history: DataFrame, items: DataFrame) -> int:
    """The rows an interval run's MERGE must leave: the users the table held before it, and
    the touched users with a clean event on a live item (counted from the inputs, not the
    result, so a MERGE that loses rows fails validation)."""
    before = ctx.lake.read(USER_EMBEDDINGS).select("user_id")
    fresh = history.select("user_id", "item_id").join(items.select("item_id"), "item_id")
    return before.unionByName(fresh.select("user_id")).distinct().count()


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
