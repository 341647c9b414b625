"""The validate-catalog and validate-users stages: the suite and the drift check on the
current version of a ``VectorTable``; the publish gate reads the report they write."""

from __future__ import annotations

from datetime import UTC, datetime

from pyspark.sql import DataFrame

from pipelines.io.reports import write_report
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.tables import EXPECTED_LIVE_ROWS, Table, require
from pipelines.validate.drift import DriftReport, check_drift, skipped_drift
from pipelines.validate.errors import ValidationFailed
from pipelines.validate.metrics import model_dimension, with_vector_metrics
from pipelines.validate.suite import expectations, run_suite
from pipelines.vectorstore.history import last_published
from pipelines.vectorstore.targets import VectorTable, catalog_table, users_table


def _drift(ctx: RunContext, target: VectorTable, live: DataFrame, version: int) -> DriftReport:
    published = last_published(ctx.lake, target.alias)
    cfg = ctx.settings.validate
    if published is None or published.table_version == version:
        return check_drift(live, None, None, cfg, None, target.key)
    previous = target.live(ctx.lake, published.table_version)
    staging = ctx.settings.neighbors.staging_dir
    with ctx.workdir("validate", safe_run_id(ctx.run_id), staging) as folder:
        return check_drift(live, previous, published.table_version, cfg, folder, target.key)


def expected_rows(ctx: RunContext, table: Table, version: int) -> int:
    """The live rows the producer recorded in ``version``'s commit."""
    recorded = ctx.lake.commit_metadata(table, version).get(EXPECTED_LIVE_ROWS)
    if recorded is None:
        raise ValidationFailed(
            table,
            version,
            [
                f"version {version} records no {EXPECTED_LIVE_ROWS} (written by an older"
                f" release or another tool); re-run the {table.producer} stage, which records it"
            ],
            "(no report)",
        )
    return int(recorded)


def validate(ctx: RunContext, target: VectorTable) -> StageResult:
    """Run the suite (and, when it passes, the drift check) on ``target``'s live rows, which
    must number what the producing stage recorded; write the report; raise ValidationFailed
    on any failure."""
    settings = ctx.settings
    require(ctx.lake, target.table, f"validate-{target.name}")
    version = ctx.lake.version(target.table)
    expected = expected_rows(ctx, target.table, version)
    live = target.live(ctx.lake, version).persist()
    try:
        dimension = model_dimension(settings.model.name_or_path)
        suite = expectations(
            settings.validate, expected, dimension, target.key, target.distinct_vectors
        )
        outcome = run_suite(
            with_vector_metrics(live, target.distinct_vectors),
            f"{target.name}_embeddings",
            suite,
            ctx.reports_dir / "data_docs" / target.name,
        )
        drift = _drift(ctx, target, live, version) if outcome.success else skipped_drift()
        rows = live.count()
    finally:
        live.unpersist()
    failures = outcome.failures + ([f"drift: {drift.message}"] if drift.status == "fail" else [])
    report = {
        "table": target.table,
        "version": version,
        "run_id": ctx.run_id,
        "validated_at": datetime.now(UTC).isoformat(),
        "success": not failures,
        "failures": failures,
        "expectations": outcome.results,
        "drift": drift.as_dict(),
        "data_docs": str(outcome.docs_index),
    }
    path = write_report(ctx.reports_dir, target.table, version, report)
    if failures:
        raise ValidationFailed(target.table, version, failures, str(path))
    return StageResult(
        stage=f"validate-{target.name}",
        rows_read=rows,
        table_version=version,
        details={"report": str(path), "data_docs": str(outcome.docs_index), "drift": drift.status},
    )


def validate_catalog(ctx: RunContext) -> StageResult:
    return validate(ctx, catalog_table(ctx.settings))


def validate_users(ctx: RunContext) -> StageResult:
    return validate(ctx, users_table(ctx.settings))
