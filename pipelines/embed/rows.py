"""Row shaping of the embed-catalog stage: source rows to table rows, classified against
the current version (new, changed, same, payload, held, deleted), shaped and tombstoned."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
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

from pipelines.embed.config import CatalogConfig, template_fields
from pipelines.encoder import BackendSpec
from pipelines.encoder.udf import embedding_column, text_column
from pipelines.io.ids import id_column

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


# what classify compares of the current rows; the rest is fetched only for the rows that
# keep theirs or become tombstones (a change of 1% must not shuffle the other 99%)
COMPARED = ("item_id", "content_hash", "payload")
NARROW = [name for name in COLUMNS if name not in ("vector", "is_deleted")]


REASONS = ("null_id", "duplicate_id", "duplicate_row", "empty_text")


def _reason(id_col: Column, text: Column, hash_: Column, payload: Column) -> Column:
    """One of REASONS for a row to quarantine, null for a good row."""
    version = F.concat_ws("\x1f", F.coalesce(hash_, F.lit("")), F.coalesce(payload, F.lit("")))
    # one sort serves every window below: they share partitioning and order
    in_order = Window.partitionBy(id_col).orderBy(version)
    same_id = in_order.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    copies = F.count(F.lit(1)).over(same_id)
    versions = F.when(F.min(version).over(same_id) == F.max(version).over(same_id), 1).otherwise(2)
    copy_number = F.row_number().over(in_order)
    null_id, duplicate_id, duplicate_row, empty_text = REASONS
    return (
        F.when(id_col.isNull(), null_id)
        .when((copies > 1) & (versions > 1), duplicate_id)
        .when(copy_number > 1, duplicate_row)
        .when(text.isNull(), empty_text)
    )


def prepare_rows(source: DataFrame, cfg: CatalogConfig, model_id: str) -> DataFrame:
    """Source rows plus _id, _text, _hash, _payload and _reason (null for good rows)."""
    fields = template_fields(cfg.text_template)
    built = text_column(cfg.text_template, fields, model_id, cfg.max_text_chars)
    payload = F.to_json(F.struct(*[F.col(c) for c in cfg.payload_columns]))
    df = source.select(
        "*",
        id_column(F.col(cfg.id_column).cast("string")).alias("_id"),
        built.alias("_built"),
        payload.alias("_payload"),
    )
    df = df.withColumn("_text", F.col("_built.text")).withColumn(
        "_hash", F.col("_built.content_hash")
    )
    reason = _reason(F.col("_id"), F.col("_text"), F.col("_hash"), F.col("_payload"))
    return df.drop("_built").withColumn("_reason", reason)


def valid_rows(prepared: DataFrame) -> DataFrame:
    return prepared.filter(F.col("_reason").isNull()).select(
        F.col("_id").alias("item_id"),
        F.col("_hash").alias("content_hash"),
        F.col("_text").alias("text"),
        F.length("_text").alias("text_length"),
        F.col("_payload").alias("payload"),
    )


def classify(valid: DataFrame, previous: DataFrame, held: DataFrame | None = None) -> DataFrame:
    """Valid source rows outer-joined with the live table rows, with a ``_status`` each:
    new | changed (re-embed), same | payload (keep the vector), held (an id whose source
    rows conflict: keep its last good row), deleted (tombstone). ``held`` has ``_held_id``."""
    live = previous.filter(~F.col("is_deleted"))
    prior = live.select(*[F.col(name).alias(f"_prev_{name}") for name in COMPARED])
    joined = valid.join(prior, valid["item_id"] == prior["_prev_item_id"], "full_outer")
    if held is None:
        held = previous.sparkSession.createDataFrame([], "_held_id string")
    joined = joined.join(F.broadcast(held), F.col("_prev_item_id") == F.col("_held_id"), "left")
    status = (
        F.when(F.col("_prev_item_id").isNull(), "new")
        .when(F.col("item_id").isNull() & F.col("_held_id").isNotNull(), "held")
        .when(F.col("item_id").isNull(), "deleted")
        .when(F.col("content_hash") != F.col("_prev_content_hash"), "changed")
        .when(~F.col("payload").eqNullSafe(F.col("_prev_payload")), "payload")
        .otherwise("same")
    )
    return joined.withColumn("_status", status).drop("_held_id")


def _prior(names: tuple[str, ...]) -> dict[str, Column]:
    return {name: F.col(f"_prev_{name}") for name in names}


_CARRIED = ("model_id", "vector", "embedded_at", "run_id")


def _with_prior(rows: DataFrame, previous: DataFrame, vector: bool = True) -> DataFrame:
    """``rows`` (classified) with the ``_prev_`` columns classify did not compare, and
    ``_prev_vector`` unless ``vector`` is False, as each row holds them in ``previous``."""
    names = [name for name in NARROW if name not in COMPARED] + (["vector"] if vector else [])
    prior = previous.filter(~F.col("is_deleted")).select(
        F.col("item_id").alias("_prev_item_id"),
        *[F.col(name).alias(f"_prev_{name}") for name in names],
    )
    return rows.join(prior, "_prev_item_id")


def kept_rows(classified: DataFrame, previous: DataFrame) -> DataFrame:
    """Rows that keep their vector: unchanged text (payload new or not), and held ids."""
    status = F.col("_status")
    rows = _with_prior(classified.filter(status.isin("same", "payload", "held")), previous)
    kept = shaped(rows.filter(status != "held"), **_prior(_CARRIED), is_deleted=F.lit(False))
    held = shaped(
        rows.filter(status == "held"),
        **_prior(tuple(NARROW)),
        vector=F.col("_prev_vector"),
        is_deleted=F.lit(False),
    )
    return kept.unionByName(held)


def payload_rows(classified: DataFrame, previous: DataFrame) -> DataFrame:
    """Rows whose payload alone changed: the new payload with the vector they had."""
    rows = _with_prior(classified.filter(F.col("_status") == "payload"), previous)
    return shaped(rows, **_prior(_CARRIED), is_deleted=F.lit(False))


def new_tombstones(classified: DataFrame, previous: DataFrame, run_id: str) -> DataFrame:
    deleted = classified.filter(F.col("_status") == "deleted")
    rows = _with_prior(deleted, previous, vector=False)
    no_vector = F.lit(None).cast(ArrayType(FloatType()))
    prior = shaped(rows, **_prior(tuple(NARROW)), vector=no_vector, is_deleted=F.lit(False))
    return tombstone(prior, run_id)


def shaped(rows: DataFrame, **overrides: Column) -> DataFrame:
    """``rows`` in the table's column order, some columns replaced."""
    return rows.select(*[overrides.get(name, F.col(name)).alias(name) for name in COLUMNS])


def embed_rows(
    rows: DataFrame, spec: BackendSpec, run_id: str, now: datetime, parts: int
) -> DataFrame:
    return shaped(
        rows.repartition(parts),
        model_id=F.lit(spec.model_id),
        vector=embedding_column(spec, F.col("text")),
        embedded_at=F.lit(now),
        run_id=F.lit(run_id),
        is_deleted=F.lit(False),
    )


def tombstone(rows: DataFrame, run_id: str) -> DataFrame:
    no_vector = F.lit(None).cast(ArrayType(FloatType()))
    return shaped(rows, vector=no_vector, run_id=F.lit(run_id), is_deleted=F.lit(True))
