"""The Great Expectations suite of an embeddings table, run on the Spark DataFrame.

An ephemeral GX context per run: the suite is code here, not state on disk; the outputs on
disk are the Data Docs site (HTML) and the JSON results, both under the lake's reports/.
"""

from __future__ import annotations

import logging
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
    docs_index: Path

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


def run_suite(df: DataFrame, name: str, suite: list, docs_dir: Path) -> SuiteOutcome:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(
        site_name="local",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    batch = context.data_sources.add_spark(name="spark").add_dataframe_asset(name=name)
    definition = batch.add_batch_definition_whole_dataframe("whole table")
    expectation_suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in suite:
        expectation_suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=definition, suite=expectation_suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=name,
            validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            result_format="SUMMARY",
        )
    )
    outcome = checkpoint.run(batch_parameters={"dataframe": df})
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
    return SuiteOutcome(bool(outcome.success), results, docs_dir / "index.html")
