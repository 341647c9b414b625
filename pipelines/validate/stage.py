"""The validate-catalog stage: the suite and the drift check on the current table version."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pyspark.sql import functions as F

from pipelines.context import RunContext, StageResult
from pipelines.embed.stage import EMBEDDINGS_TABLE, count_valid_source_rows
from pipelines.lake import TableNotFoundError
from pipelines.publish.history import last_published
from pipelines.validate.drift import DriftReport, check_drift, skipped_drift
from pipelines.validate.errors import ValidationFailed
from pipelines.validate.metrics import model_dimension, with_vector_metrics
from pipelines.validate.report import write_report
from pipelines.validate.suite import expectations, run_suite

SUITE_NAME = "catalog_embeddings"


def _live(df):
    return df.filter(~F.col("is_deleted"))


def _drift(ctx: RunContext, live, version: int) -> DriftReport:
    published = last_published(ctx.lake, ctx.settings.publish.alias)
    if published is None or published.table_version == version:
        return check_drift(live, None, None, ctx.settings.validate)
    previous = _live(ctx.lake.read(EMBEDDINGS_TABLE, published.table_version))
    return check_drift(live, previous, published.table_version, ctx.settings.validate)


def validate_catalog(ctx: RunContext) -> StageResult:
    started = time.perf_counter()
    settings, lake = ctx.settings, ctx.lake
    version = lake.version(EMBEDDINGS_TABLE)
    if version is None:
        raise TableNotFoundError(f"{EMBEDDINGS_TABLE} does not exist; run embed-catalog first")
    live = _live(lake.read(EMBEDDINGS_TABLE, version)).persist()
    try:
        expected = count_valid_source_rows(ctx)
        suite = expectations(
            settings.validate, expected, model_dimension(settings.model.name_or_path)
        )
        outcome = run_suite(
            with_vector_metrics(live), SUITE_NAME, suite, ctx.reports_dir / "data_docs"
        )
        drift = _drift(ctx, live, version) if outcome.success else skipped_drift()
        rows = live.count()
    finally:
        live.unpersist()
    failures = outcome.failures + ([f"drift: {drift.message}"] if drift.status == "fail" else [])
    report = {
        "table": EMBEDDINGS_TABLE,
        "version": version,
        "run_id": ctx.run_id,
        "validated_at": datetime.now(UTC).isoformat(),
        "success": not failures,
        "failures": failures,
        "expectations": outcome.results,
        "drift": drift.as_dict(),
        "data_docs": str(outcome.docs_index),
    }
    path = write_report(ctx.reports_dir, EMBEDDINGS_TABLE, version, report)
    if failures:
        raise ValidationFailed(EMBEDDINGS_TABLE, version, failures, str(path))
    return StageResult(
        stage="validate-catalog",
        rows_read=rows,
        seconds=round(time.perf_counter() - started, 3),
        table_version=version,
        details={"report": str(path), "data_docs": str(outcome.docs_index), "drift": drift.status},
    )
