"""The validate-catalog and validate-users stages: the suite and the drift check on the
current version of a ``VectorTable``; the publish gate reads the report they write."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pyspark.sql import DataFrame

from pipelines.io.reports import read_report, write_report
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.tables import EXPECTED_LIVE_ROWS, Table, require
from pipelines.validate.drift import DriftReport, check_drift, skipped_drift
from pipelines.validate.errors import ValidationFailed
from pipelines.validate.metrics import model_dimension, with_vector_metrics
from pipelines.validate.page import write_page
from pipelines.validate.suite import expectations, run_suite
from pipelines.vectorstore.history import last_published
from pipelines.vectorstore.targets import VectorTable, catalog_table, users_table

log = logging.getLogger(__name__)

# how a person lets a version whose drift check failed through, by table
ACCEPT_HOW = {
    "catalog": "pipelines run --accept-drift (Airflow: trigger catalog_embeddings with"
    " accept_drift = true)",
    "users": "pipelines run --accept-drift (a job: jobs/run_stage.py --accept-drift true)",
}


def _drift(ctx: RunContext, target: VectorTable, live: DataFrame, version: int) -> DriftReport:
    published = last_published(ctx.lake, target.alias)
    cfg = ctx.settings.validate
    if published is None or published.table_version == version:
        return check_drift(live, None, None, cfg, None, target.key)
    previous = target.live(ctx.lake, published.table_version)
    before = read_report(ctx.reports_dir, target.table, published.table_version) or {}
    templates = (before.get("text_template"), ctx.settings.catalog.text_template)
    staging = ctx.settings.neighbors.staging_dir
    with ctx.workdir("validate", safe_run_id(ctx.run_id), staging) as folder:
        return check_drift(
            live, previous, published.table_version, cfg, folder, target.key, templates
        )


def _accepted(ctx: RunContext, drift: DriftReport) -> DriftReport:
    if not ctx.accept_drift:
        return drift
    if drift.status == "fail":
        return drift.accepted(ctx.accept_drift, datetime.now(UTC))
    log.info("drift is %s, not failed: --accept-drift has nothing to accept", drift.status)
    return drift


def _drift_failure(ctx: RunContext, target: VectorTable, drift: DriftReport) -> list[str]:
    if drift.status != "fail":
        return []
    cfg = ctx.settings.validate
    return [
        f"drift: {drift.message}. If the change is meant, accept this version: "
        f"{ACCEPT_HOW[target.name]}; or change the thresholds in [validate]:"
        f" centroid_shift_fail = {cfg.centroid_shift_fail}, stability_fail = {cfg.stability_fail}"
    ]


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
    must number what the producing stage recorded; write the report and its HTML page; raise
    ValidationFailed on any failure."""
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
        data = with_vector_metrics(live, target.distinct_vectors)
        outcome = run_suite(data, f"{target.name}_embeddings", suite)
        drift = _drift(ctx, target, live, version) if outcome.success else skipped_drift()
        rows = live.count()
    finally:
        live.unpersist()
    drift = _accepted(ctx, drift)
    failures = outcome.failures + _drift_failure(ctx, target, drift)
    report = {
        "table": target.table,
        "version": version,
        "run_id": ctx.run_id,
        "validated_at": datetime.now(UTC).isoformat(),
        "success": not failures,
        "failures": failures,
        "expectations": outcome.results,
        "drift": drift.as_dict(),
        # what the drift check of a later version compares its own template with
        "text_template": settings.catalog.text_template,
    }
    report["data_docs"] = str(write_page(ctx.reports_dir / "data_docs" / target.name, report))
    path = write_report(ctx.reports_dir, target.table, version, report)
    if failures:
        raise ValidationFailed(target.table, version, failures, f"{path}, {report['data_docs']}")
    return StageResult(
        stage=f"validate-{target.name}",
        rows_read=rows,
        table_version=version,
        details={
            "report": str(path),
            "data_docs": report["data_docs"],
            "drift": drift.status,
            "drift_message": drift.message,
            "drift_accepted_by": drift.accepted_by,
        },
    )


def validate_catalog(ctx: RunContext) -> StageResult:
    return validate(ctx, catalog_table(ctx.settings))


def validate_users(ctx: RunContext) -> StageResult:
    return validate(ctx, users_table(ctx.settings))
