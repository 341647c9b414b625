"""The embed-catalog stage: only new, changed or re-modelled rows are embedded.

One run reads the source, quarantines bad rows, compares content hashes with the current
table version, embeds what changed, turns vanished ids into tombstones, and commits the new
table state in one Delta transaction (unchanged vectors are carried over, not recomputed).
Nothing changed means no commit at all.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from pyspark.sql import Column, DataFrame, Observation, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    FloatType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from pipelines.context import RunContext, StageResult
from pipelines.embed.backends import BackendSpec
from pipelines.embed.backends.auto import resolve_backend
from pipelines.embed.config import CatalogConfig, template_fields
from pipelines.embed.source import read_source
from pipelines.embed.udf import embedding_column, text_column
from pipelines.lake import TableEngine
from pipelines.quarantine import quarantine_rows, write_quarantine
from pipelines.spark import task_threads

log = logging.getLogger(__name__)

EMBEDDINGS_TABLE = "embeddings/catalog"
QUARANTINE_TABLE = "quarantine/catalog"
SCHEMA = StructType(
    [
        StructField("item_id", StringType(), False),
        StructField("content_hash", StringType()),
        StructField("model_id", StringType()),
        StructField("vector", ArrayType(FloatType())),
        StructField("text", StringType()),
        StructField("text_length", IntegerType()),
        StructField("payload", StringType()),
        StructField("embedded_at", TimestampType()),
        StructField("run_id", StringType()),
        StructField("is_deleted", BooleanType()),
    ]
)
COLUMNS = SCHEMA.fieldNames()


PRIOR = [f"_prev_{name}" for name in COLUMNS]


REASONS = ("null_id", "duplicate_id", "empty_text")


def _reason(id_col: Column, text: Column) -> Column:
    """One of REASONS for a row to quarantine, null for a good row."""
    duplicates = F.count(F.lit(1)).over(Window.partitionBy(id_col))
    null_id, duplicate_id, empty_text = REASONS
    return (
        F.when(id_col.isNull() | (id_col == ""), null_id)
        .when(duplicates > 1, duplicate_id)
        .when(text.isNull(), empty_text)
    )


def prepare_rows(source: DataFrame, cfg: CatalogConfig, model_id: str) -> DataFrame:
    """Source rows plus _id, _text, _hash, _payload and _reason (null for good rows)."""
    fields = template_fields(cfg.text_template)
    built = text_column(cfg.text_template, fields, model_id, cfg.max_text_chars)
    payload = F.to_json(F.struct(*[F.col(c) for c in cfg.payload_columns]))
    df = source.select(
        "*",
        F.trim(F.col(cfg.id_column).cast("string")).alias("_id"),
        built.alias("_built"),
        payload.alias("_payload"),
    )
    df = df.withColumn("_text", F.col("_built.text")).withColumn(
        "_hash", F.col("_built.content_hash")
    )
    return df.drop("_built").withColumn("_reason", _reason(F.col("_id"), F.col("_text")))


def valid_rows(prepared: DataFrame) -> DataFrame:
    return prepared.filter(F.col("_reason").isNull()).select(
        F.col("_id").alias("item_id"),
        F.col("_hash").alias("content_hash"),
        F.col("_text").alias("text"),
        F.length("_text").alias("text_length"),
        F.col("_payload").alias("payload"),
    )


def classify(valid: DataFrame, previous: DataFrame) -> DataFrame:
    """Valid source rows outer-joined with the live table rows, with a ``_status`` each:
    new | changed (re-embed), same | payload (keep the vector), deleted (tombstone)."""
    live = previous.filter(~F.col("is_deleted"))
    prior = live.select(*[F.col(c).alias(p) for c, p in zip(COLUMNS, PRIOR, strict=True)])
    joined = valid.join(prior, valid["item_id"] == prior["_prev_item_id"], "full_outer")
    status = (
        F.when(F.col("_prev_item_id").isNull(), "new")
        .when(F.col("item_id").isNull(), "deleted")
        .when(F.col("content_hash") != F.col("_prev_content_hash"), "changed")
        .when(~F.col("payload").eqNullSafe(F.col("_prev_payload")), "payload")
        .otherwise("same")
    )
    return joined.withColumn("_status", status)


def _prior(rows: DataFrame, names: tuple[str, ...]) -> dict[str, Column]:
    return {name: F.col(f"_prev_{name}") for name in names}


def kept_rows(classified: DataFrame) -> DataFrame:
    carried = ("model_id", "vector", "embedded_at", "run_id")
    rows = classified.filter(F.col("_status").isin("same", "payload"))
    return _shaped(rows, **_prior(rows, carried), is_deleted=F.lit(False))


def new_tombstones(classified: DataFrame, run_id: str) -> DataFrame:
    rows = classified.filter(F.col("_status") == "deleted")
    return tombstone(_shaped(rows, **_prior(rows, tuple(COLUMNS))), run_id)


def _shaped(rows: DataFrame, **overrides: Column) -> DataFrame:
    """``rows`` in the table's column order, some columns replaced."""
    return rows.select(*[overrides.get(name, F.col(name)).alias(name) for name in COLUMNS])


def embed_rows(
    rows: DataFrame, spec: BackendSpec, run_id: str, now: datetime, parts: int
) -> DataFrame:
    return _shaped(
        rows.repartition(parts),
        model_id=F.lit(spec.model_id),
        vector=embedding_column(spec, F.col("text")),
        embedded_at=F.lit(now),
        run_id=F.lit(run_id),
        is_deleted=F.lit(False),
    )


def tombstone(rows: DataFrame, run_id: str) -> DataFrame:
    no_vector = F.lit(None).cast(ArrayType(FloatType()))
    return _shaped(rows, vector=no_vector, run_id=F.lit(run_id), is_deleted=F.lit(True))


def live_rows(lake: TableEngine, version: int | None = None) -> DataFrame:
    """The embeddings table's current (or a given version's) rows that are not tombstones."""
    return lake.read(EMBEDDINGS_TABLE, version).filter(~F.col("is_deleted"))


def live_model_id(lake: TableEngine) -> str | None:
    """The model id of the live vectors (validation keeps it to one); None when empty."""
    row = live_rows(lake).select("model_id").first()
    return row.model_id if row else None


def count_valid_source_rows(ctx: RunContext) -> int:
    """Rows of the catalog source that pass the quarantine rules (what the table must hold)."""
    cfg = ctx.settings.catalog
    needed = [cfg.id_column, *template_fields(cfg.text_template), *cfg.payload_columns]
    source = read_source(ctx.lake, "catalog", cfg.source, cfg.format, needed)
    return prepare_rows(source, cfg, model_id="").filter(F.col("_reason").isNull()).count()


def embed_catalog(ctx: RunContext) -> StageResult:
    started = time.perf_counter()
    cfg = ctx.settings.catalog
    spec = resolve_backend(ctx.settings.model, ctx.cache_dir, task_threads(ctx.spark))
    needed = [cfg.id_column, *template_fields(cfg.text_template), *cfg.payload_columns]
    source = read_source(ctx.lake, "catalog", cfg.source, cfg.format, needed)
    prepared = prepare_rows(source, cfg, spec.model_id).persist()
    try:
        result = _run(ctx, spec, source.columns, prepared)
    finally:
        prepared.unpersist()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _run(
    ctx: RunContext, spec: BackendSpec, raw_columns: list[str], prepared: DataFrame
) -> StageResult:
    cfg = ctx.settings.catalog
    bad = quarantine_rows(
        prepared.filter(F.col("_reason").isNotNull()), F.col("_reason"), F.col(cfg.id_column),
        str(cfg.source), raw_columns,
    )  # fmt: skip
    if not ctx.lake.exists(EMBEDDINGS_TABLE):
        return _first_load(ctx, spec, prepared, bad)
    valid = valid_rows(prepared)
    previous = ctx.lake.read(EMBEDDINGS_TABLE)
    classified = classify(valid, previous).persist()
    try:
        reasons, statuses = _counts(prepared, classified)
        result = _result(spec, reasons, statuses)
        write_quarantine(ctx.lake, QUARANTINE_TABLE, bad, ctx.run_id, result.quarantined)
        if not (result.embedded or result.tombstoned or statuses.get("payload")):
            result.table_version = ctx.lake.version(EMBEDDINGS_TABLE)
            return result
        to_embed = classified.filter(F.col("_status").isin("new", "changed"))
        carried = _carried_rows(classified, previous, valid, ctx.run_id)
        result.table_version = _commit(ctx, spec, to_embed, result.embedded, carried)
    finally:
        classified.unpersist()
    return result


def _first_load(
    ctx: RunContext, spec: BackendSpec, prepared: DataFrame, bad: DataFrame
) -> StageResult:
    """No table yet, so every valid row is new and embedding starts at once: the rows are
    counted by reason while they stream into the write (an Observation), not by a job of
    their own. Measured warm on 5,000 rows, the counting jobs cost 0.5-0.8 s."""
    observation = Observation("embed-catalog-reasons")
    reason = F.col("_reason")
    observed = prepared.observe(
        observation,
        F.count(F.when(reason.isNull(), 1)).alias("valid"),
        *[F.count(F.when(reason == name, 1)).alias(name) for name in REASONS],
    )
    version = _commit(ctx, spec, valid_rows(observed), n_embed=None)
    counts = observation.get
    reasons = {name: counts[name] for name in REASONS if counts[name]}
    if counts["valid"]:
        reasons[None] = counts["valid"]
    result = _result(spec, reasons, {"new": counts["valid"]} if counts["valid"] else {})
    write_quarantine(ctx.lake, QUARANTINE_TABLE, bad, ctx.run_id, result.quarantined)
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
    log.info(
        "embed-catalog: %d read, %d to embed with %s, %d unchanged, %d tombstoned, %d quarantined",
        result.rows_read,
        result.embedded,
        spec.model_id,
        result.skipped,
        result.tombstoned,
        result.quarantined,
    )
    return result


def _carried_rows(
    classified: DataFrame, previous: DataFrame, valid: DataFrame, run_id: str
) -> DataFrame:
    """What the new version keeps without embedding: unchanged rows with their vectors, and
    tombstones, new and old."""
    old_tombstones = previous.filter(F.col("is_deleted")).join(valid, "item_id", "left_anti")
    return (
        kept_rows(classified)
        .unionByName(new_tombstones(classified, run_id))
        .unionByName(_shaped(old_tombstones))
    )


def _commit(
    ctx: RunContext,
    spec: BackendSpec,
    to_embed: DataFrame,
    n_embed: int | None,
    carried: DataFrame | None = None,
) -> int:
    """Embed ``to_embed`` (``n_embed`` rows; None: not counted yet), add the ``carried`` rows,
    and commit the whole as the new version."""
    cores = ctx.spark.sparkContext.defaultParallelism
    parts = cores if n_embed is None else max(1, min(cores, n_embed))
    state = embed_rows(to_embed, spec, ctx.run_id, datetime.now(UTC), parts)
    if carried is not None:
        state = carried.unionByName(state)
    return ctx.lake.write(state, EMBEDDINGS_TABLE, ctx.run_id)
