"""One HTML report per run, read from the lake without Spark: stages, validation and drift,
an embedding map, score histograms, dedup clusters, similar items, user recommendations,
evaluation and what Qdrant serves."""

from pipelines.report.build import add_arguments, main, report_path, write_run_report
from pipelines.report.stage_results import read_stage_results, record_stage_results

__all__ = [
    "add_arguments",
    "main",
    "read_stage_results",
    "record_stage_results",
    "report_path",
    "write_run_report",
]
