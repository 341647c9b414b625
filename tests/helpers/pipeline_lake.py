"""A small lake that went through embed -> validate -> publish, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from helpers.data import make_catalog, write_settings
from pipelines.config import load_settings
from pipelines.orchestration.stages import STAGES
from pipelines.runtime.context import RunContext
from pipelines.tables import EXPECTED_LIVE_ROWS

FAST_RETRIES = {"retry_attempts": 3, "retry_wait_s": 0.01, "retry_max_wait_s": 0.05}


class PipelineLake:
    def __init__(self, spark, folder: Path, rows: pd.DataFrame, **sections):
        self.folder, self.spark = folder, spark
        self.csv = folder / "catalog.csv"
        rows.to_csv(self.csv, index=False)
        sections.setdefault("publish", FAST_RETRIES)
        self.settings = load_settings(write_settings(folder, self.csv, **sections))
        self.runs = 0
        self.ctx = self._context()

    def _context(self) -> RunContext:
        from pipelines.lake import open_lake

        return RunContext(self.settings, self.spark, open_lake(self.spark, self.settings.lake), "")

    def copy_to(self, target: Path) -> PipelineLake:
        self.ctx.close()  # embedded Qdrant: one client per folder
        shutil.copytree(self.folder, target, dirs_exist_ok=True)
        copy = PipelineLake.__new__(PipelineLake)
        copy.folder, copy.spark, copy.csv, copy.runs = (
            target,
            self.spark,
            target / "catalog.csv",
            self.runs,
        )
        copy.settings = load_settings(target / "pipelines.toml")
        copy.ctx = copy._context()
        return copy

    def rewrite(self, df, table: str, run_id: str) -> int:
        """Commit ``df`` as a new version of ``table`` recording the count the producer
        recorded in the current one (a stage's write gone wrong, as validation sees it)."""
        engine = self.ctx.lake
        expected = engine.commit_metadata(table, engine.version(table))[EXPECTED_LIVE_ROWS]
        return engine.write(df, table, run_id, metadata={EXPECTED_LIVE_ROWS: expected})

    def run(self, *names: str, full_refresh: bool = False):
        self.runs += 1
        self.ctx.run_id = f"run-{self.runs}"
        self.ctx.full_refresh = full_refresh
        stages = {stage.name: stage for stage in STAGES}
        results = []
        for name in names:
            self.ctx.lake.begin()
            results.append(stages[name].load()(self.ctx))
        return results

    def write_source(self, rows: pd.DataFrame) -> None:
        rows.to_csv(self.csv, index=False)

    @property
    def store(self):
        return self.ctx.store

    @property
    def alias_target(self) -> str | None:
        return self.store.alias_target(self.settings.publish.alias)


ALL = ("embed-catalog", "validate-catalog", "publish-catalog")


def build_golden(spark, folder: Path, n: int = 60) -> PipelineLake:
    lake = PipelineLake(spark, folder, make_catalog(n))
    lake.run(*ALL)
    lake.ctx.close()
    return lake
