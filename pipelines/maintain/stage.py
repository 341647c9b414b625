"""The maintain stage: VACUUM every Delta table of the lake (sparing protected versions),
sweep dead working folders and Great Expectations' temporary Data Docs sites."""

from __future__ import annotations

import logging
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.maintain.leftovers import sweep_gx_temp_sites, sweep_work
from pipelines.maintain.protected import protected_versions
from pipelines.maintain.retention import ages_hours, vacuum_hours
from pipelines.maintain.vacuum import (
    commit_times,
    find_tables,
    remove_orphan_sidecars,
    vacuum_table,
)
from pipelines.runtime.context import RunContext, StageResult

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from pipelines.lake import TableEngine

log = logging.getLogger(__name__)


def maintain(ctx: RunContext) -> StageResult:
    root = ctx.settings.lake.root
    protected = protected_versions(ctx)
    tables = {
        table: vacuum_one(ctx, table, protected.get(table, set())) for table in find_tables(root)
    }
    swept = sweep_work(root)
    gx_sites = sweep_gx_temp_sites(Path(tempfile.gettempdir()))
    for folder in [*swept, *gx_sites]:
        log.info("maintain: removed leftover %s", folder)
    return StageResult(
        stage="maintain",
        details={
            "tables": tables,
            "swept": [str(folder) for folder in swept],
            "gx_temp_sites": [str(folder) for folder in gx_sites],
        },
    )


def vacuum_one(ctx: RunContext, table: str, protected: set[int]) -> dict[str, Any]:
    """VACUUM ``table`` under its writer lock with a window stretched over ``protected``."""
    path = ctx.settings.lake.root / table
    ages = ages_hours(commit_times(path), protected, int(time.time() * 1000))
    hours = vacuum_hours(ctx.settings.lake.retention_hours, ages)
    with _writer_lock(ctx.lake, table):
        deleted = vacuum_table(path, hours)
        sidecars = remove_orphan_sidecars(path)
    log.info("maintain: %s: %d files deleted (retention %d h)", table, deleted, hours)
    return {"files_deleted": deleted, "retention_hours": hours, "checksums_deleted": sidecars}


def _writer_lock(lake: TableEngine, table: str) -> AbstractContextManager:
    lock = getattr(lake, "table_lock", None)
    return nullcontext() if lock is None else lock(table)
