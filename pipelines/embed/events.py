"""Events ingestion: parse, check against the catalog, quarantine what is unusable.

Rows with a null user or item, an item not in the live catalog, an unparseable timestamp or
one in the future go to ``quarantine/events`` with a reason. With a data interval only the
events of its window (the interval, widened by ``lookback_hours``) are taken, and both tables'
rows of that window are replaced, so a re-run of the same interval leaves the same tables.

Both tables are partitioned by ``event_date`` (UTC; quarantined rows without a readable time
in the null partition): a run reads and rewrites only the days its window touches.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.io.ids import id_column
from pipelines.io.quarantine import quarantine_rows, rejected_rows, write_quarantine
from pipelines.io.sources import SourceRead, read_configured
from pipelines.io.times import event_time
from pipelines.lake.partitions import Partitions
from pipelines.runtime.context import RunContext
from pipelines.runtime.reads import validated_rows
from pipelines.tables import EVENTS, EVENTS_QUARANTINE

log = logging.getLogger(__name__)
EVENT_DATE = "event_date"
Window = tuple[datetime, datetime]


def read_events(ctx: RunContext, workdir) -> SourceRead:
    cfg = ctx.settings.events
    needed = [cfg.user_column, cfg.item_column, cfg.timestamp_column]
    if cfg.type_column:
        needed.append(cfg.type_column)
    if cfg.text_column:
        needed.append(cfg.text_column)
    return read_configured(ctx.lake, "events", cfg, needed, workdir)


def prepared_events(ctx: RunContext, source: DataFrame) -> DataFrame:
    """Source rows plus user_id, item_id, event_type, event_time and _reason."""
    cfg = ctx.settings.events
    none = F.lit(None).cast("string")
    kind = F.col(cfg.type_column).cast("string") if cfg.type_column else none
    text = F.col(cfg.text_column).cast("string") if cfg.text_column else none
    rows = source.select(
        "*",
        id_column(F.col(cfg.user_column).cast("string")).alias("_user"),
        id_column(F.col(cfg.item_column).cast("string")).alias("_item"),
        kind.alias("_type"),
        event_time(F.col(cfg.timestamp_column)).alias("_time"),
        F.nullif(F.trim(F.regexp_replace(text, r"\s+", " ")), F.lit("")).alias("_text"),
    )
    live = validated_rows(ctx).select("item_id")
    known = live.withColumn("_known", F.lit(True)).withColumnRenamed("item_id", "_item")
    rows = rows.join(F.broadcast(known), "_item", "left")
    future = datetime.now(UTC) + timedelta(minutes=ctx.settings.users.future_skew_minutes)
    reason = (
        F.when(F.col("_user").isNull(), "null_user")
        .when(F.col("_item").isNull(), "null_item")
        .when(F.col("_time").isNull(), "bad_timestamp")
        .when(F.col("_time") > F.lit(future), "future_timestamp")
        .when(F.col("_known").isNull(), "unknown_item")
    )
    return rows.withColumn("_reason", reason)


def in_interval(time: Column, interval: Window | None) -> Column:
    if interval is None:
        return F.lit(True)
    return (time >= F.lit(interval[0])) & (time < F.lit(interval[1]))


def run_window(ctx: RunContext) -> Window | None:
    """The run's interval, started ``lookback_hours`` earlier; None: every event."""
    if ctx.interval is None:
        return None
    start, end = ctx.interval
    return start - timedelta(hours=ctx.settings.events.lookback_hours), end


def window_dates(window: Window) -> list[date]:
    """The UTC dates a window [start, end) touches."""
    first = window[0].astimezone(UTC).date()
    last = (window[1].astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=d) for d in range((last - first).days + 1)]


def _dated(rows: DataFrame) -> DataFrame:
    return rows.withColumn(EVENT_DATE, F.to_date(F.col("event_time")))


def ingest_events(ctx: RunContext) -> dict[str, int]:
    """Write this run's clean events and quarantine; returns counts by outcome."""
    with ctx.workdir("sources", "events") as workdir:
        return _ingest(ctx, read_events(ctx, workdir))


def _ingest(ctx: RunContext, source: SourceRead) -> dict[str, int]:
    cfg = ctx.settings.events
    raw_columns = source.rows.columns
    window = run_window(ctx)
    upgrade_layout(ctx)
    rows = prepared_events(ctx, source.rows)
    rows = rows.filter(F.col("_time").isNull() | in_interval(F.col("_time"), window))
    rows = rows.persist()
    try:
        counts = {r[0] or "clean": r[1] for r in rows.groupBy("_reason").count().collect()}
        for reason, n in source.rejected_counts().items():
            counts[reason] = counts.get(reason, 0) + n
        clean = rows.filter(F.col("_reason").isNull()).select(
            F.col("_user").alias("user_id"),
            F.col("_item").alias("item_id"),
            F.col("_type").alias("event_type"),
            F.col("_time").alias("event_time"),
            F.col("_text").cast("string").alias("text"),
        )
        _replace_window(ctx, _dated(clean.withColumn("run_id", F.lit(ctx.run_id))), window)
        label = F.when(F.col("_time").isNull(), "untimed").otherwise(interval_label(window))
        bad = quarantine_rows(
            rows.filter(F.col("_reason").isNotNull()), F.col("_reason"),
            F.col(cfg.user_column), str(cfg.source), raw_columns, interval=label,
            event_time=F.col("_time"),
        )  # fmt: skip
        untimed = F.lit(None).cast("timestamp").alias("event_time")
        unreadable = rejected_rows(source.rejected).select(
            "*", F.lit("untimed").alias("interval"), untimed
        )
        _replace_quarantine(ctx, _dated(bad.unionByName(unreadable)), window)
    finally:
        rows.unpersist()
    return counts


def _replace_window(ctx: RunContext, clean: DataFrame, window: Window | None) -> None:
    """Rows outside the window stay; the window's rows become ``clean``, in one commit that
    rewrites only the days the window touches."""
    if window is None:
        ctx.lake.write(clean.persist(), EVENTS, ctx.run_id, partition_by=EVENT_DATE)
        return
    days = Partitions.of(EVENT_DATE, window_dates(window))
    if ctx.lake.exists(EVENTS):
        kept = ctx.lake.read(EVENTS, partitions=days)
        clean = kept.filter(~in_interval(F.col("event_time"), window)).unionByName(clean)
    ctx.lake.write(clean.persist(), EVENTS, ctx.run_id, replace=days)


def interval_label(interval: Window | None) -> str:
    return "all" if interval is None else f"{interval[0].isoformat()}/{interval[1].isoformat()}"


def _replace_quarantine(ctx: RunContext, bad: DataFrame, window: Window | None) -> None:
    """A run replaces its window's bad rows and the untimed ones (null event_time: every
    run sees them again); a run without a window replaces the whole table."""
    if window is None:
        write_quarantine(ctx.lake, EVENTS_QUARANTINE, bad, ctx.run_id, partition_by=EVENT_DATE)
        return
    days = Partitions.of(EVENT_DATE, [*window_dates(window), None])
    time = F.col("event_time")
    kept = time.isNotNull() & ~in_interval(time, window)
    write_quarantine(ctx.lake, EVENTS_QUARANTINE, bad, ctx.run_id, kept=kept, replace=days)


def upgrade_layout(ctx: RunContext) -> None:
    """Tables an older version wrote unpartitioned are rewritten once by event_date (their
    rows unchanged; a quarantined row's time is re-read from its raw source row)."""
    lake, column = ctx.lake, ctx.settings.events.timestamp_column
    for table in (EVENTS, EVENTS_QUARANTINE):
        if not lake.exists(table) or lake.partition_columns(table) == [EVENT_DATE]:
            continue
        log.warning("%s predates partitioning by %s: rewriting it once", table, EVENT_DATE)
        rows = lake.read(table)
        if "event_time" not in rows.columns:
            raw_time = F.get_json_object(F.col("raw"), f"$.{column}")
            rows = rows.withColumn("event_time", event_time(raw_time))
        lake.write(_dated(rows), table, ctx.run_id, partition_by=EVENT_DATE)
