"""The publish-catalog stage: blue-green full publishes and incremental upserts.

Full (no alias yet, a new model, or a full refresh): a new collection named from prefix, model
and run id is filled, checked (point count == live rows), and only then the alias moves to it
in one operation. On any failure the new collection is dropped and the alias stays. Older
collections beyond ``keep_collections`` are removed; the previous one stays for rollback.
Incremental: the collection behind the alias is reconciled with the table (upserts for new
and changed rows, deletes for tombstones).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.context import RunContext, StageResult, safe_run_id
from pipelines.embed.stage import EMBEDDINGS_TABLE
from pipelines.publish.errors import NotValidatedError, PublishError
from pipelines.publish.history import Publication, publications, record
from pipelines.publish.points import upsert_rows
from pipelines.publish.reconcile import compare, repair
from pipelines.validate.report import read_report

log = logging.getLogger(__name__)


def collection_name(prefix: str, model_id: str, run_id: str) -> str:
    model = re.sub(r"[^A-Za-z0-9]+", "_", model_id).strip("_")
    return f"{prefix}__{model}__{safe_run_id(run_id)}"


def require_validated(ctx: RunContext, version: int) -> None:
    report = read_report(ctx.reports_dir, EMBEDDINGS_TABLE, version)
    if report is None or not report["success"]:
        state = "failed" if report else "has not run"
        raise NotValidatedError(
            f"validation of {EMBEDDINGS_TABLE} version {version} {state}; nothing is published"
            " (run validate-catalog and fix what it reports)"
        )


def _model_id(live: DataFrame) -> str:
    models = [r.model_id for r in live.select("model_id").distinct().collect()]
    if len(models) != 1:
        raise PublishError(
            f"{EMBEDDINGS_TABLE} holds {len(models)} model ids {models}; expected one"
        )
    return models[0]


def full_publish(ctx: RunContext, live: DataFrame, model_id: str, rows: int) -> str:
    cfg, store = ctx.settings.publish, ctx.store
    name = collection_name(cfg.collection_prefix, model_id, ctx.run_id)
    if name in store.collections():  # a re-run of a run that failed half-way
        store.drop_collection(name)
    dimension = len(live.select("vector").first().vector) if rows else 1
    store.create_collection(name, dimension)
    try:
        upsert_rows(store, name, live, cfg.batch_size, rows)
        count = store.count(name)
        if count != rows:
            raise PublishError(f"{name} holds {count} points after publishing {rows} live rows")
        store.point_alias(cfg.alias, name)
    except BaseException:
        log.warning("publish into %s failed; dropping it, alias %s unchanged", name, cfg.alias)
        _drop_quietly(ctx, name)
        raise
    return name


def _drop_quietly(ctx: RunContext, name: str) -> None:
    try:
        ctx.store.drop_collection(name)
    except Exception as exc:  # the store may be the thing that failed
        log.warning("could not drop %s: %s", name, exc)


def prune(ctx: RunContext, current: str) -> list[str]:
    """Drop this prefix's collections beyond the newest ``keep_collections``."""
    cfg = ctx.settings.publish
    newest_first = [p.collection for p in reversed(publications(ctx.lake, cfg.alias))]
    keep = list(dict.fromkeys([current, *newest_first]))[: cfg.keep_collections]
    ours = [c for c in ctx.store.collections() if c.startswith(f"{cfg.collection_prefix}__")]
    dropped = [c for c in ours if c not in keep]
    for name in dropped:
        ctx.store.drop_collection(name)
    return dropped


def publish_catalog(ctx: RunContext) -> StageResult:
    started = time.perf_counter()
    cfg, store = ctx.settings.publish, ctx.store
    version = ctx.lake.version(EMBEDDINGS_TABLE)
    if version is None:
        raise PublishError(f"{EMBEDDINGS_TABLE} does not exist; run embed-catalog first")
    require_validated(ctx, version)
    live = ctx.lake.read(EMBEDDINGS_TABLE, version).filter(~F.col("is_deleted")).persist()
    try:
        rows = live.count()
        model_id = _model_id(live)
        target = store.alias_target(cfg.alias)
        history = publications(ctx.lake, cfg.alias)
        same_model = bool(history) and history[-1].model_id == model_id
        if target is None or not same_model or ctx.full_refresh:
            mode, collection = "full", full_publish(ctx, live, model_id, rows)
            details = {"dropped": prune(ctx, collection)}
        else:
            mode, collection = "incremental", target
            diff = compare(live, store, collection)
            repair(live, store, collection, diff, cfg.batch_size)
            details = {"changes": diff.summary()}
    finally:
        live.unpersist()
    now = datetime.now(UTC)
    record(
        ctx.lake,
        Publication(
            cfg.alias, collection, EMBEDDINGS_TABLE, version, model_id, ctx.run_id, mode, rows, now
        ),
    )
    log.info(
        "publish-catalog: %s publish of %d points to %s (alias %s)",
        mode,
        rows,
        collection,
        cfg.alias,
    )
    return StageResult(
        stage="publish-catalog",
        rows_read=rows,
        seconds=round(time.perf_counter() - started, 3),
        table_version=version,
        details={"mode": mode, "collection": collection, "alias": cfg.alias, **details},
    )


def rollback(ctx: RunContext) -> Publication:
    """Point the alias back to the collection published before the current one."""
    cfg, store = ctx.settings.publish, ctx.store
    current = store.alias_target(cfg.alias)
    existing = set(store.collections())
    earlier = [
        p
        for p in reversed(publications(ctx.lake, cfg.alias))
        if p.collection != current and p.collection in existing
    ]
    if not earlier:
        raise PublishError(f"no earlier collection of alias {cfg.alias!r} is left to roll back to")
    target = earlier[0]
    store.point_alias(cfg.alias, target.collection)
    back = Publication(
        cfg.alias, target.collection, target.table, target.table_version, target.model_id,
        ctx.run_id, "rollback", store.count(target.collection), datetime.now(UTC),
    )  # fmt: skip
    record(ctx.lake, back)
    return back
