"""The recs-users stage: top-N items per user, never an item the user has seen nor a
duplicate of one. Cold items (no events) stay recommendable through their embeddings."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.methods.recommend import recommend
from pipelines.runtime.context import RunContext, StageResult, safe_run_id
from pipelines.runtime.reads import live_model_id, live_vectors, validated_version
from pipelines.runtime.spark import task_threads
from pipelines.tables import (
    COOCCURRENCE,
    DEDUP_CLUSTERS,
    EVENTS,
    USER_EMBEDDINGS,
    USER_RECS,
    require,
)

log = logging.getLogger(__name__)


def current_users(ctx: RunContext) -> DataFrame:
    """User vectors in the catalog's current vector space; others are left out (they are
    rebuilt by the next embed-events run without an interval)."""
    users = ctx.lake.read(USER_EMBEDDINGS)
    model = live_model_id(ctx.lake, validated_version(ctx))
    if model is None:
        return users
    stale = users.filter(F.col("model_id") != model).count()
    if stale:
        log.warning("recs-users: %d users have vectors of another model; skipped", stale)
    return users.filter(F.col("model_id") == model)


def user_recs(ctx: RunContext) -> StageResult:
    lake = ctx.lake
    for table in (USER_EMBEDDINGS, EVENTS):
        require(lake, table, "recs-users")
    cooc = lake.read(COOCCURRENCE) if lake.exists(COOCCURRENCE) else None
    if cooc is None:
        cooc = ctx.spark.createDataFrame([], "item_id string, neighbor_id string, score float")
    clusters = lake.read(DEDUP_CLUSTERS) if lake.exists(DEDUP_CLUSTERS) else None
    staging_dir = ctx.settings.neighbors.staging_dir
    with ctx.workdir("recs-users", f"recs-users-{safe_run_id(ctx.run_id)}", staging_dir) as staging:
        recs = recommend(
            current_users(ctx), live_vectors(ctx), lake.read(EVENTS), cooc, clusters,
            ctx.settings.recs, staging, threads=task_threads(ctx.spark),
        )  # fmt: skip
        version, rows = ctx.write_stamped(recs, USER_RECS)
    details = {"cooccurrence_weight": ctx.settings.recs.cooccurrence_weight}
    return StageResult("recs-users", rows_read=rows, table_version=version, details=details)
