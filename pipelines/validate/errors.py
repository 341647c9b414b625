"""Errors of validation: terminal, so Airflow does not retry them."""

from pipelines.errors import PipelineError


class ValidationFailed(PipelineError):
    """A suite or drift check failed; nothing is published."""

    def __init__(self, table: str, version: int, failures: list[str], report: str):
        lines = "\n".join(f"  - {failure}" for failure in failures)
        super().__init__(
            f"validation of {table} version {version} failed; nothing is published:\n{lines}\n"
            f"report: {report}"
        )
        self.failures = failures
