"""The Great Expectations suite of an embeddings table, run on the Spark DataFrame.

An ephemeral GX context per run: the suite is code here, not state on disk. Its results go
into the stage's JSON report and HTML page (``pipelines.validate.page``), beside the drift
check's: GX's own Data Docs would call a version the drift check refused "Succeeded", and
load their styles from a CDN.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pipelines.validate.config import ValidateConfig

log = logging.getLogger(__name__)


@dataclass
class SuiteOutcome:
    success: bool
    results: list[dict[str, Any]]  # one per expectation: type, column, success, observed

    @property
    def failures(self) -> list[str]:
        return [_describe(r) for r in self.results if not r["success"]]


def _describe(result: dict[str, Any]) -> str:
    column = f" on {result['column']}" if result["column"] else ""
    expected, observed = result["expected"], result["observed"]
    return f"{result['expectation']}{column}: expected {expected}, observed {observed}"


def expectations(
    cfg: ValidateConfig,
    expected_rows: int,
    dimension: int,
    key: str = "item_id",
    distinct_vectors: bool = True,
) -> list:
    """The vector-aware suite; ``distinct_vectors`` adds the shared-vector check (needs the
    ``duplicate_vector`` column of ``with_vector_metrics``)."""
    import great_expectations as gx

    e = gx.expectations
    tolerance = cfg.norm_tolerance
    suite = [
        e.ExpectTableRowCountToEqual(value=expected_rows),
        e.ExpectColumnValuesToNotBeNull(column=key),
        e.ExpectColumnValuesToBeUnique(column=key),
        e.ExpectColumnValuesToBeInSet(column="dim", value_set=[dimension]),
        e.ExpectColumnValuesToBeInSet(column="all_finite", value_set=[True]),
        e.ExpectColumnValuesToBeBetween(
            column="norm", min_value=1 - tolerance, max_value=1 + tolerance
        ),
        e.ExpectColumnValuesToBeInSet(column="is_zero", value_set=[False]),
        e.ExpectColumnUniqueValueCountToBeBetween(column="model_id", min_value=1, max_value=1),
    ]
    if distinct_vectors:
        suite.append(
            e.ExpectColumnValuesToBeInSet(
                column="duplicate_vector",
                value_set=[False],
                mostly=1 - cfg.max_duplicate_vector_rate,
            )
        )
    return suite


def _expected(kwargs: dict[str, Any]) -> str:
    shown = {k: v for k, v in kwargs.items() if k not in ("column", "batch_id", "result_format")}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def _observed(result: dict[str, Any]) -> Any:
    if "observed_value" in result:
        return result["observed_value"]
    count, percent = result.get("unexpected_count"), result.get("unexpected_percent")
    sample = result.get("partial_unexpected_list", [])[:5]
    return f"{count} unexpected rows ({percent:.2f}%), e.g. {sample}" if count else "none"


def run_suite(df: DataFrame, name: str, suite: list) -> SuiteOutcome:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # the ephemeral context adds its own site in a temp folder that nothing removes
    temporary = _temporary_sites(context)
    try:
        if not sys.stderr.isatty():  # tqdm bars only garble a log file
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
        outcome = _checkpoint(context, name, suite).run(batch_parameters={"dataframe": df})
    finally:
        for folder in temporary:
            shutil.rmtree(folder, ignore_errors=True)
    [run] = outcome.run_results.values()
    results = [
        {
            "expectation": r.expectation_config.type,
            "column": r.expectation_config.kwargs.get("column"),
            "success": bool(r.success),
            "expected": _expected(r.expectation_config.kwargs),
            "observed": _observed(r.result),
        }
        for r in run.results
    ]
    return SuiteOutcome(bool(outcome.success), results)


def _temporary_sites(context) -> list[Path]:
    """The folders of the context's own Data Docs sites that lie in the temp folder."""
    tmp = Path(tempfile.gettempdir()).resolve()
    sites = context.variables.data_docs_sites or {}
    folders = [site.get("store_backend", {}).get("base_directory") for site in sites.values()]
    return [Path(f).resolve() for f in folders if f and Path(f).resolve().parent == tmp]


def _checkpoint(context, name: str, suite: list):
    import great_expectations as gx

    batch = context.data_sources.add_spark(name="spark").add_dataframe_asset(name=name)
    definition = batch.add_batch_definition_whole_dataframe("whole table")
    expectation_suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in suite:
        expectation_suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=definition, suite=expectation_suite)
    )
    return context.checkpoints.add(
        gx.Checkpoint(name=name, validation_definitions=[validation], result_format="SUMMARY")
    )
