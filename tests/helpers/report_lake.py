"""One small sample lake for the report tests: every stage run once (run-1, its stage results
recorded), then a second catalog run (run-2: changed and removed items, no results recorded)
so that drift is measured and the report falls back on the lake alone."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from helpers.pipeline_lake import PipelineLake
from pipelines.datasets.sample import (
    SAMPLE_DEDUP_FIELDS,
    SAMPLE_TEMPLATE,
    generate_sample,
    write_planted_pairs,
)
from pipelines.orchestration.stages import STAGES
from pipelines.report import record_stage_results

PAYLOAD = ["title", "brand", "category", "price"]
FIRST_RUN = [stage.name for stage in STAGES if stage.name != "maintain"]
SECOND_RUN = ("embed-catalog", "validate-catalog", "publish-catalog")
CHANGED, REMOVED = 8, 3


def _run(lake: PipelineLake, run_id: str, names) -> list:
    """The stages in one run, each timed as ``run_stages`` times it."""
    stages = {stage.name: stage for stage in STAGES}
    lake.ctx.run_id = run_id
    results = []
    for name in names:
        lake.ctx.lake.begin()
        started = time.perf_counter()
        result = stages[name].load()(lake.ctx)
        result.seconds = round(time.perf_counter() - started, 3)
        results.append(result)
    return results


@pytest.fixture(scope="session")
def report_lake(spark, tmp_path_factory) -> PipelineLake:
    folder = tmp_path_factory.mktemp("report")
    files = generate_sample(folder / "data", n_items=80, n_users=12, n_events=300)
    gold = write_planted_pairs(files["duplicates"], folder / "data" / "planted_pairs.csv")
    catalog = pd.read_csv(files["catalog"], dtype=str, keep_default_na=False)
    lake = PipelineLake(
        spark, folder, catalog,
        catalog={"text_template": SAMPLE_TEMPLATE, "payload_columns": PAYLOAD},
        events={"source": str(files["events"]), "format": "csv"},
        dedup={"fields": SAMPLE_DEDUP_FIELDS},
        evaluate={"dedup_gold": str(gold)},
    )  # fmt: skip
    results = _run(lake, "run-1", FIRST_RUN)
    record_stage_results(lake.ctx.reports_dir, "run-1", results)
    lake.write_source(_second_catalog(catalog))
    _run(lake, "run-2", SECOND_RUN)
    lake.ctx.close()  # embedded Qdrant: the report reads its folder, not through a client
    return lake


def _second_catalog(catalog: pd.DataFrame) -> pd.DataFrame:
    """Some descriptions changed and the last good items removed."""
    rows = catalog.copy()
    once = rows.item_id.map(rows.item_id.value_counts()) == 1
    good = rows.index[once & rows.item_id.str.match(r"^P\d{5}$")]
    changed = good[:CHANGED]
    rows.loc[changed, "description"] = rows.loc[changed, "description"] + " Now refreshed."
    return rows.drop(good[-REMOVED:])
