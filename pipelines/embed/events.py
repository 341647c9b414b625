"""Events ingestion: parse, check against the catalog, quarantine what is unusable.

Rows with a null user or item, an item not in the live catalog, an unparseable timestamp or
one in the future go to ``quarantine/events`` with a reason. With a data interval only its
events are taken, and the clean table's rows of that interval are replaced, so a re-run of
the same interval leaves the same table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.io.ids import id_column
from pipelines.io.quarantine import quarantine_rows, rejected_rows, write_quarantine
from pipelines.io.sources import SourceRead, read_configured
from pipelines.io.times import event_time
from pipelines.runtime.context import RunContext
from pipelines.runtime.reads import validated_rows
from pipelines.tables import EVENTS, EVENTS_QUARANTINE


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


def in_interval(time: Column, interval: tuple[datetime, datetime] | None) -> Column:
    if interval is None:
        return F.lit(True)
    return (time >= F.lit(interval[0])) & (time < F.lit(interval[1]))


def ingest_events(ctx: RunContext) -> dict[str, int]:
    """Write this run's clean events and quarantine; returns counts by outcome."""
    with ctx.workdir("sources", "events") as workdir:
        return _ingest(ctx, read_events(ctx, workdir))


def _ingest(ctx: RunContext, source: SourceRead) -> dict[str, int]:
    cfg = ctx.settings.events
    raw_columns = source.rows.columns
    rows = prepared_events(ctx, source.rows)
    rows = rows.filter(F.col("_time").isNull() | in_interval(F.col("_time"), ctx.interval))
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
        _replace_interval(ctx, clean.withColumn("run_id", F.lit(ctx.run_id)))
        label = F.when(F.col("_time").isNull(), "untimed").otherwise(interval_label(ctx.interval))
        bad = quarantine_rows(
            rows.filter(F.col("_reason").isNotNull()), F.col("_reason"),
            F.col(cfg.user_column), str(cfg.source), raw_columns, interval=label,
        )  # fmt: skip
        unreadable = rejected_rows(source.rejected).withColumn("interval", F.lit("untimed"))
        _replace_quarantine(ctx, bad.unionByName(unreadable))
    finally:
        rows.unpersist()
    return counts


def _replace_interval(ctx: RunContext, clean: DataFrame) -> None:
    """Rows of other intervals stay; this interval's rows become ``clean`` (one commit)."""
    if ctx.lake.exists(EVENTS):
        kept = ctx.lake.read(EVENTS).filter(~in_interval(F.col("event_time"), ctx.interval))
        clean = kept.unionByName(clean)
    ctx.lake.write(clean.persist(), EVENTS, ctx.run_id)


def interval_label(interval: tuple[datetime, datetime] | None) -> str:
    return "all" if interval is None else f"{interval[0].isoformat()}/{interval[1].isoformat()}"


def _replace_quarantine(ctx: RunContext, bad: DataFrame) -> None:
    """Bad rows carry their interval ("untimed" when the time is unreadable: every interval
    sees them); a run replaces its interval's rows and the untimed ones."""
    kept = None
    if ctx.interval is not None:
        kept = ~F.col("interval").isin(interval_label(ctx.interval), "untimed")
    write_quarantine(ctx.lake, EVENTS_QUARANTINE, bad, ctx.run_id, kept=kept)
