"""The embed-events and cooccurrence stages."""

from __future__ import annotations

import time

from pyspark.sql import functions as F

from pipelines.context import RunContext, StageResult
from pipelines.embed.stage import EMBEDDINGS_TABLE
from pipelines.neighbors.graph import live_vectors
from pipelines.users.cooccurrence import COOCCURRENCE_TABLE, cooccurrence
from pipelines.users.events import EVENTS_TABLE, in_interval, ingest_events
from pipelines.users.vectors import USERS_TABLE, user_vectors


def _model_id(ctx: RunContext) -> str:
    live = ctx.lake.read(EMBEDDINGS_TABLE).filter(~F.col("is_deleted"))
    row = live.select("model_id").first()
    return row.model_id if row else ""


def embed_events(ctx: RunContext) -> StageResult:
    """Ingest the interval's events, then recompute the vectors of the users who have events
    in it (over their whole history) and MERGE them into the users table."""
    started = time.perf_counter()
    counts = ingest_events(ctx)
    events = ctx.lake.read(EVENTS_TABLE)
    touched = events.filter(in_interval(F.col("event_time"), ctx.interval)).select("user_id")
    history = events.join(touched.distinct(), "user_id")
    fresh = user_vectors(history, live_vectors(ctx), ctx.settings.users).select(
        "*", F.lit(_model_id(ctx)).alias("model_id"), F.lit(ctx.run_id).alias("run_id")
    )
    if ctx.interval is None:  # every event was read: the table is rebuilt
        version = ctx.lake.write(fresh, USERS_TABLE, ctx.run_id)
    else:  # only the interval's users change: one MERGE by user_id
        version = ctx.lake.merge(fresh, USERS_TABLE, ["user_id"], ctx.run_id)
    users = ctx.lake.read(USERS_TABLE, version).count()
    quarantined = sum(n for reason, n in counts.items() if reason != "clean")
    return StageResult(
        stage="embed-events",
        rows_read=sum(counts.values()),
        embedded=users,
        quarantined=quarantined,
        seconds=round(time.perf_counter() - started, 3),
        table_version=version,
        details={"events": counts, "interval": [str(t) for t in ctx.interval or ()]},
    )


def build_cooccurrence(ctx: RunContext) -> StageResult:
    started = time.perf_counter()
    cfg = ctx.settings.users
    graph = cooccurrence(ctx.lake.read(EVENTS_TABLE), cfg.history_items, cfg.cooccurrence_k)
    version = ctx.lake.write(graph.withColumn("run_id", F.lit(ctx.run_id)), COOCCURRENCE_TABLE,
                             ctx.run_id)  # fmt: skip
    return StageResult(
        stage="cooccurrence",
        rows_read=ctx.lake.read(COOCCURRENCE_TABLE, version).count(),
        seconds=round(time.perf_counter() - started, 3),
        table_version=version,
    )
