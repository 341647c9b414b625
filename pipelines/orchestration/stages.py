"""The stage registry and the runner: stages run in order, each returns a ``StageResult``."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.errors import ConfigError, PipelineError, StageError
from pipelines.runtime.context import RunContext, StageResult, new_run_id

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from pipelines.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    name: str
    target: str  # "module:function" taking a RunContext, imported only when the stage runs
    configured: Callable[[Settings], bool]
    source: str | None = None  # the configured source it reads: "catalog" or "events"

    def load(self) -> Callable[[RunContext], StageResult]:
        module, function = self.target.split(":")
        return getattr(importlib.import_module(module), function)


def _catalog(settings: Settings) -> bool:
    return settings.catalog.source is not None


def _events(settings: Settings) -> bool:
    return settings.catalog.source is not None and settings.events.source is not None


def _evaluation(settings: Settings) -> bool:
    cfg = settings.evaluate
    return cfg.dedup_gold is not None or cfg.recs_items or cfg.recs_users


STAGES: list[Stage] = [
    Stage("embed-catalog", "pipelines.embed.catalog:embed_catalog", _catalog, "catalog"),
    Stage("validate-catalog", "pipelines.validate.stage:validate_catalog", _catalog),
    Stage("publish-catalog", "pipelines.publish.publisher:publish_catalog", _catalog),
    Stage("reconcile-catalog", "pipelines.reconcile.stage:reconcile_catalog", _catalog),
    Stage("neighbors", "pipelines.neighbors.graph:build_neighbors", _catalog),
    Stage("dedup", "pipelines.dedup.stage:dedup_catalog", _catalog),
    Stage("recs-items", "pipelines.recs.items:item_recs", _catalog),
    Stage("embed-events", "pipelines.embed.users:embed_events", _events, "events"),
    Stage("validate-users", "pipelines.validate.stage:validate_users", _events),
    Stage("publish-users", "pipelines.publish.publisher:publish_users", _events),
    Stage("reconcile-users", "pipelines.reconcile.stage:reconcile_users", _events),
    Stage("cooccurrence", "pipelines.cooccurrence.stage:build_cooccurrence", _events),
    Stage("recs-users", "pipelines.recs.users:user_recs", _events),
    Stage("evaluate", "pipelines.evaluate.stage:evaluate", _evaluation),
    Stage("maintain", "pipelines.maintain.stage:maintain", lambda settings: True),
]
STAGE_NAMES = [stage.name for stage in STAGES]


def select_stages(settings: Settings, names: list[str] | None) -> list[Stage]:
    """The named stages in pipeline order, or every stage whose inputs are configured."""
    if not names:
        return [stage for stage in STAGES if stage.configured(settings)]
    unknown = [name for name in names if name not in STAGE_NAMES]
    if unknown:
        raise ConfigError(
            f"unknown stage {', '.join(unknown)}; stages are {', '.join(STAGE_NAMES)}"
        )
    return [stage for stage in STAGES if stage.name in names]


def check_sources(settings: Settings, stages: list[Stage]) -> None:
    """The columns the config names are in the sources ``stages`` read: checked on their
    headers alone, before Spark starts or a model loads."""
    from pipelines.io.schema import check_named_columns

    for section in dict.fromkeys(stage.source for stage in stages if stage.source):
        check_named_columns(section, getattr(settings, section))


@contextmanager
def open_context(
    settings: Settings,
    run_id: str | None = None,
    full_refresh: bool = False,
    interval: tuple[datetime, datetime] | None = None,
    allow_mass_delete: bool = False,
    accept_drift: str | None = None,
) -> Iterator[RunContext]:
    from pyspark.sql import SparkSession

    from pipelines.io.workdirs import stage_workdir
    from pipelines.lake import open_lake

    ours = SparkSession.getActiveSession() is None
    with stage_workdir(settings.lake.root / "_work" / "spark", "spark") as local_dir:
        spark = _spark(settings, local_dir if ours else None)
        ctx = RunContext(
            settings,
            spark,
            open_lake(spark, settings.lake),
            run_id or new_run_id(),
            full_refresh=full_refresh,
            allow_mass_delete=allow_mass_delete,
            accept_drift=accept_drift,
            interval=interval,
        )
        try:
            yield ctx
        finally:
            ctx.close()
            if ours:  # its scratch folder goes with the workdir; a killed run's is swept
                spark.stop()


def _spark(settings: Settings, local_dir):
    from pipelines.runtime.spark import build_spark

    config = settings.spark
    if local_dir is not None and config.master.startswith("local"):
        conf = {"spark.local.dir": str(local_dir), **config.conf}
        config = config.model_copy(update={"conf": conf})
    return build_spark(config)


def run_stages(ctx: RunContext, stages: list[Stage]) -> list[StageResult]:
    """Run ``stages`` in order, each timed here; a failure carries the stage, the run id and
    the table versions the stage had read (``errors.where_failed``)."""
    results = []
    for stage in stages:
        log.info("stage %s: starting (run %s)", stage.name, ctx.run_id)
        ctx.lake.begin()
        started = time.perf_counter()
        try:
            result = stage.load()(ctx)
        except Exception as exc:
            failure = exc
            if not isinstance(exc, PipelineError):
                failure = StageError(stage.name, f"{type(exc).__name__}: {exc}")
            failure.failed_in = (stage.name, ctx.run_id, dict(ctx.lake.inputs))
            _record(ctx, {"stage": stage.name, "error": str(failure)})
            if failure is exc:
                raise
            raise failure from exc
        result.seconds = round(time.perf_counter() - started, 3)
        results.append(result)
        _record(ctx, result)
        log.info("stage %s: done in %.1fs", stage.name, result.seconds)
    return results


def _record(ctx: RunContext, result) -> None:
    """Keep the stage's result (or failure) for the run report; a report is never worth
    failing a stage for."""
    from pipelines.report import record_stage_results

    try:
        record_stage_results(ctx.reports_dir, ctx.run_id, [result])
    except OSError as exc:
        log.warning("stage %s: result not recorded for the report: %s", ctx.run_id, exc)
