"""Reconciliation: Delta's live rows against the points behind an alias, and repair
(``pipelines.vectorstore.sync`` does the comparing)."""

from __future__ import annotations

from pipelines.reconcile.errors import ReconcileMismatch
from pipelines.runtime.context import RunContext, StageResult
from pipelines.vectorstore.sync import compare, repair
from pipelines.vectorstore.targets import VectorTable, catalog_table, users_table


def reconcile(ctx: RunContext, target: VectorTable, fix: bool = False) -> StageResult:
    """Compare ``target``'s live rows with the collection behind its alias; any mismatch
    left after ``fix`` fails."""
    collection = ctx.store.alias_target(target.alias)
    if collection is None:
        raise ReconcileMismatch(
            f"alias {target.alias!r} does not exist in {ctx.store.description};"
            f" run publish-{target.name} first"
        )
    points = target.points(target.live(ctx.lake))
    diff = compare(points, ctx.store, collection)
    found = diff.summary()
    if fix and not diff.clean:
        size = ctx.settings.publish.batch_size
        repair(points, ctx.store, collection, diff, target.key, size)
        diff = compare(points, ctx.store, collection)
    result = StageResult(
        stage=f"reconcile-{target.name}",
        rows_read=points.count(),
        details={
            "collection": collection,
            "found": found,
            "after": diff.summary(),
            "repaired": fix,
        },
    )
    if not diff.clean:
        raise ReconcileMismatch(
            f"{collection} disagrees with {target.table}: {diff.summary()}"
            f" (e.g. missing {diff.missing[:3]}, stale {diff.stale[:3]}, extra {diff.extra[:3]});"
            f" run `pipelines reconcile --table {target.name} --repair` to fix it"
        )
    return result


def reconcile_catalog(ctx: RunContext, fix: bool = False) -> StageResult:
    """The reconcile-catalog stage."""
    return reconcile(ctx, catalog_table(ctx.settings), fix)


def reconcile_users(ctx: RunContext, fix: bool = False) -> StageResult:
    """The reconcile-users stage."""
    return reconcile(ctx, users_table(ctx.settings), fix)
