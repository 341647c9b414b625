"""The cooccurrence stage: the item-item co-occurrence graph of users' recent histories."""

from __future__ import annotations

from pipelines.methods.cooccurrence import cooccurrence
from pipelines.runtime.context import RunContext, StageResult
from pipelines.tables import COOCCURRENCE, EVENTS, require


def build_cooccurrence(ctx: RunContext) -> StageResult:
    cfg = ctx.settings.users
    require(ctx.lake, EVENTS, "cooccurrence")
    graph = cooccurrence(ctx.lake.read(EVENTS), cfg.history_items, cfg.cooccurrence_k)
    version, rows = ctx.write_stamped(graph, COOCCURRENCE)
    return StageResult(
        stage="cooccurrence",
        rows_read=rows,
        table_version=version,
    )
