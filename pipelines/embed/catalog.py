"""The embed-catalog stage: only new, changed or re-modelled rows are embedded.

One run reads the source, quarantines bad rows, compares content hashes with the current
table version, embeds what changed, turns vanished ids into tombstones, and commits in one
Delta transaction: a MERGE of the changed rows when they are few (the rows they replace are
marked deleted, no file rewritten), else the whole new state (unchanged vectors carried
over, not recomputed). Nothing changed means no commit at all.

Duplicate ids: exact copies of one row count once (the copies are quarantined as
``duplicate_row``); rows that share an id but differ are all quarantined as ``duplicate_id``,
and an item already in the table keeps its last good version ("held") rather than vanish.
A run that would tombstone more than ``max_delete_fraction`` of the live items is refused
unless the run allows a mass delete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from pipelines.embed.config import template_fields
from pipelines.embed.errors import AccountingError, MassDeleteError
from pipelines.embed.rows import (
    REASONS,
    SCHEMA,
    classify,
    embed_rows,
    kept_rows,
    new_tombstones,
    payload_rows,
    prepare_rows,
    shaped,
    valid_rows,
)
from pipelines.encoder import BackendSpec
from pipelines.encoder.auto import resolve_backend
from pipelines.io.errors import SourceError
from pipelines.io.quarantine import quarantine_rows, rejected_rows, write_quarantine
from pipelines.io.sources import SourceRead, read_configured
from pipelines.runtime.context import RunContext, StageResult
from pipelines.runtime.faults import crash_point
from pipelines.runtime.spark import task_threads
from pipelines.tables import CATALOG_EMBEDDINGS, CATALOG_QUARANTINE, EXPECTED_LIVE_ROWS

log = logging.getLogger(__name__)
# a run changing more of the live rows than this rewrites the table (dropping its deletion
# vectors) instead of merging into it
MERGE_MAX_FRACTION = 0.2
# the statuses of rows that are live in the version a run commits
LIVE_STATUSES = ("new", "changed", "same", "payload", "held")


def read_catalog(ctx: RunContext, workdir) -> SourceRead:
    cfg = ctx.settings.catalog
    needed = [cfg.id_column, *template_fields(cfg.text_template), *cfg.payload_columns]
    return read_configured(ctx.lake, "catalog", cfg, needed, workdir)


def embed_catalog(ctx: RunContext) -> StageResult:
    spec = resolve_backend(ctx.settings.model, ctx.cache_dir, task_threads(ctx.spark))
    with ctx.workdir("sources", "catalog") as workdir:
        source = read_catalog(ctx, workdir)
        prepared = prepare_rows(source.rows, ctx.settings.catalog, spec.model_id).persist()
        try:
            result = _run(ctx, spec, source, prepared)
        finally:
            prepared.unpersist()
    return result


def _quarantined(ctx: RunContext, source: SourceRead, prepared: DataFrame) -> DataFrame:
    """Every row that is not embedded: unreadable records and rows with a reason."""
    cfg = ctx.settings.catalog
    bad = quarantine_rows(
        prepared.filter(F.col("_reason").isNotNull()), F.col("_reason"), F.col(cfg.id_column),
        str(cfg.source), source.rows.columns,
    )  # fmt: skip
    return rejected_rows(source.rejected).unionByName(bad)


def _run(
    ctx: RunContext, spec: BackendSpec, source: SourceRead, prepared: DataFrame
) -> StageResult:
    rejected = source.rejected_counts()
    if ctx.lake.exists(CATALOG_EMBEDDINGS):
        result = _update(ctx, spec, prepared, rejected)
    else:
        result = _first_load(ctx, spec, source, prepared, rejected)
    crash_point("embed.after_commit")
    bad = _quarantined(ctx, source, prepared)
    write_quarantine(ctx.lake, CATALOG_QUARANTINE, bad, ctx.run_id, result.quarantined)
    return result


def _update(ctx: RunContext, spec: BackendSpec, prepared: DataFrame, rejected: dict):
    valid = valid_rows(prepared)
    previous = ctx.lake.read(CATALOG_EMBEDDINGS)
    conflicting = prepared.filter(F.col("_reason") == "duplicate_id")
    held = conflicting.select(F.col("_id").alias("_held_id")).distinct()
    classified = classify(valid, previous, held).persist()
    try:
        reasons, statuses = _counts(prepared, classified)
        result = _result(spec, reasons | rejected, statuses)
        _refuse_mass_delete(ctx, statuses)
        expected = sum(statuses.get(s, 0) for s in LIVE_STATUSES)
        changes = result.embedded or result.tombstoned or statuses.get("payload")
        current = ctx.lake.version(CATALOG_EMBEDDINGS)
        if not changes and _records_expected(ctx, current):
            result.table_version = current
            return result
        to_embed = classified.filter(F.col("_status").isin("new", "changed"))
        if _merges(result, statuses, expected, ctx.lake.deleted_fraction(CATALOG_EMBEDDINGS)):
            changed = _changed_rows(classified, previous, statuses, ctx.run_id)
            result.table_version = _commit(
                ctx, spec, to_embed, result.embedded, expected, changed, merge=True
            )
        else:
            carried = _carried_rows(classified, previous, valid, statuses, ctx.run_id)
            result.table_version = _commit(ctx, spec, to_embed, result.embedded, expected, carried)
    finally:
        classified.unpersist()
    return result


def _merges(result: StageResult, statuses: dict, expected: int, deleted: float) -> bool:
    """Whether this run's changes MERGE into the table (the rows it replaces marked deleted)
    rather than rewrite it: up to MERGE_MAX_FRACTION of the live rows, while the rows earlier
    merges marked deleted stay under that share of the stored ones (else the rewrite compacts)."""
    changed = result.embedded + result.tombstoned + statuses.get("payload", 0)
    return changed <= MERGE_MAX_FRACTION * max(expected, 1) and deleted < MERGE_MAX_FRACTION


def _refuse_mass_delete(ctx: RunContext, statuses: dict) -> None:
    """A truncated or empty source looks like a mass delete: refuse it before any write."""
    deleted = statuses.get("deleted", 0)
    live = deleted + sum(statuses.get(s, 0) for s in ("same", "payload", "changed", "held"))
    limit = ctx.settings.catalog.max_delete_fraction
    if ctx.allow_mass_delete or not live or deleted <= limit * live:
        return
    raise MassDeleteError(
        f"this run would tombstone {deleted} of {live} live items ({deleted / live:.0%}) in"
        f" {CATALOG_EMBEDDINGS}, above [catalog] max_delete_fraction = {limit}; nothing was"
        f" written. Check that {ctx.settings.catalog.source} is complete; if the deletes are"
        " meant, re-run with --allow-mass-delete (Airflow: trigger with allow_mass_delete=true)"
    )


def _first_load(
    ctx: RunContext, spec: BackendSpec, source: SourceRead, prepared: DataFrame, rejected: dict
) -> StageResult:
    """No table yet, so every valid row is new and embedding starts at once: the rows are
    counted by reason while they stream into the write (an Observation), not by a job of
    their own."""
    if source.rows.isEmpty():
        raise SourceError(
            f"[catalog] source {ctx.settings.catalog.source} has no readable rows and there is"
            f" no {CATALOG_EMBEDDINGS} yet; nothing was written: check the file"
        )
    observation = Observation("embed-catalog-reasons")
    reason = F.col("_reason")
    observed = prepared.observe(
        observation,
        F.count(F.when(reason.isNull(), 1)).alias("valid"),
        *[F.count(F.when(reason == name, 1)).alias(name) for name in REASONS],
    )
    if ctx.lake.deferred_metadata:
        expected = lambda: observation.get["valid"]  # noqa: E731
    else:
        expected = prepared.filter(reason.isNull()).count()
    version = _commit(ctx, spec, valid_rows(observed), None, expected)
    counts = observation.get
    reasons = {name: counts[name] for name in REASONS if counts[name]}
    if counts["valid"]:
        reasons[None] = counts["valid"]
    statuses = {"new": counts["valid"]} if counts["valid"] else {}
    result = _result(spec, reasons | rejected, statuses)
    result.table_version = version
    return result


def _counts(prepared: DataFrame, classified: DataFrame) -> tuple[dict, dict]:
    """Rows per quarantine reason (None: valid) and per status, in one Spark job."""
    tagged = prepared.select(F.lit("reason").alias("kind"), F.col("_reason").alias("key"))
    tagged = tagged.unionByName(
        classified.select(F.lit("status").alias("kind"), F.col("_status").alias("key"))
    )
    counts: dict[str, dict] = {"reason": {}, "status": {}}
    for kind, key, n in tagged.groupBy("kind", "key").count().collect():
        counts[kind][key] = n
    return counts["reason"], counts["status"]


def _result(spec: BackendSpec, reasons: dict, statuses: dict) -> StageResult:
    """The stage result; every record read is embedded, unchanged or quarantined, or the
    run fails before writing anything."""
    quarantined = {reason: n for reason, n in reasons.items() if reason is not None}
    result = StageResult(
        stage="embed-catalog",
        rows_read=sum(reasons.values()),
        quarantined=sum(quarantined.values()),
        embedded=statuses.get("new", 0) + statuses.get("changed", 0),
        skipped=statuses.get("same", 0) + statuses.get("payload", 0),
        tombstoned=statuses.get("deleted", 0),
        details={"model_id": spec.model_id, "quarantine_reasons": quarantined, **statuses},
    )
    accounted = result.embedded + result.skipped + result.quarantined
    if accounted != result.rows_read:
        raise AccountingError(
            f"embed-catalog read {result.rows_read} records but accounts for {accounted}"
            f" ({result.embedded} to embed, {result.skipped} unchanged, {result.quarantined}"
            f" quarantined); nothing was written"
        )
    log.info(
        "embed-catalog: %d read, %d to embed with %s, %d unchanged, %d held, %d tombstoned,"
        " %d quarantined",
        result.rows_read,
        result.embedded,
        spec.model_id,
        result.skipped,
        statuses.get("held", 0),
        result.tombstoned,
        result.quarantined,
    )
    return result


def _changed_rows(
    classified: DataFrame, previous: DataFrame, statuses: dict, run_id: str
) -> DataFrame:
    """What a MERGE writes besides the embedded rows: payload-only changes and new
    tombstones, each read from the table only when the run has some."""
    changed = classified.sparkSession.createDataFrame([], SCHEMA)
    if statuses.get("payload"):
        changed = changed.unionByName(payload_rows(classified, previous))
    if statuses.get("deleted"):
        changed = changed.unionByName(new_tombstones(classified, previous, run_id))
    return changed


def _carried_rows(
    classified: DataFrame, previous: DataFrame, valid: DataFrame, statuses: dict, run_id: str
) -> DataFrame:
    """What the new version keeps without embedding: unchanged rows with their vectors, and
    tombstones, new (read from the table only when the run has some) and old."""
    old_tombstones = previous.filter(F.col("is_deleted")).join(valid, "item_id", "left_anti")
    carried = kept_rows(classified, previous).unionByName(shaped(old_tombstones))
    if statuses.get("deleted"):
        carried = carried.unionByName(new_tombstones(classified, previous, run_id))
    return carried


def _commit(
    ctx: RunContext,
    spec: BackendSpec,
    to_embed: DataFrame,
    n_embed: int | None,
    expected: int | Callable[[], int],
    carried: DataFrame | None = None,
    merge: bool = False,
) -> int:
    """Embed ``to_embed`` (``n_embed`` rows; None: not counted yet), add the ``carried`` rows,
    and commit the whole as the new version (``merge``: MERGE them by item_id into the current
    one), recording the live rows it must hold."""
    cores = ctx.spark.sparkContext.defaultParallelism
    parts = cores if n_embed is None else max(1, min(cores, n_embed))
    state = embed_rows(to_embed, spec, ctx.run_id, datetime.now(UTC), parts)
    if carried is not None:
        state = carried.unionByName(state)
    metadata = {EXPECTED_LIVE_ROWS: expected}
    if merge:
        return ctx.lake.merge(state, CATALOG_EMBEDDINGS, ["item_id"], ctx.run_id, metadata)
    return ctx.lake.write(state, CATALOG_EMBEDDINGS, ctx.run_id, metadata=metadata)


def _records_expected(ctx: RunContext, version: int | None) -> bool:
    """Whether ``version`` records its expected row count (versions written by older releases
    do not: the next run commits again so that validation can check it)."""
    return version is not None and EXPECTED_LIVE_ROWS in ctx.lake.commit_metadata(
        CATALOG_EMBEDDINGS, version
    )
