"""The recs-users stage: top-N items per user, never an item the user has seen nor a
duplicate of one. Cold items (no events) stay recommendable through their embeddings. The
blend weight is tuned on the users' own events unless the configuration fixes it."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.methods.recommend import Scoring, recommend
from pipelines.methods.tuning import choose_blend
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
    lake, settings = ctx.lake, ctx.settings
    for table in (USER_EMBEDDINGS, EVENTS):
        require(lake, table, "recs-users")
    cooc = lake.read(COOCCURRENCE) if lake.exists(COOCCURRENCE) else None
    if cooc is None:
        cooc = ctx.spark.createDataFrame([], "item_id string, neighbor_id string, score float")
    clusters = lake.read(DEDUP_CLUSTERS) if lake.exists(DEDUP_CLUSTERS) else None
    events = lake.read(EVENTS)
    scoring = Scoring(
        live_vectors(ctx), clusters, settings.users, settings.recs, task_threads(ctx.spark)
    )
    staging_dir = settings.neighbors.staging_dir
    with ctx.workdir("recs-users", f"recs-users-{safe_run_id(ctx.run_id)}", staging_dir) as staging:
        blend = choose_blend(events, scoring, staging / "validation")
        log.info("recs-users: blend weight %s (%s)", blend.weight, blend.source)
        users = current_users(ctx)
        recs = recommend(users, events, cooc, scoring, staging / "recs", blend.weight)
        version, rows = ctx.write_stamped(recs, USER_RECS)
    return StageResult("recs-users", rows_read=rows, table_version=version, details=blend.details())
