"""Errors shared by every stage.

Each names what is wrong (file, column, key or value) and how to fix it. ``transient`` tells
retry logic (tenacity, Airflow) whether trying again can help.
"""


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    transient = False


class ConfigError(PipelineError):
    """A configuration key holds a value that is not allowed."""


class InputError(PipelineError):
    """An input file, table or column is missing or unusable."""


class StageError(PipelineError):
    """A stage failed on an exception it did not expect; wraps the cause with the stage."""

    def __init__(self, stage: str, message: str):
        super().__init__(f"stage {stage!r} failed: {message}")
        self.stage = stage


def where_failed(exc: BaseException) -> str:
    """``stage X (run R; read table@version, ...)``: what the runner attached to a failure
    (as dlt's step-failed error does), or '' when none ran."""
    failure = getattr(exc, "failed_in", None)
    if failure is None:
        return ""
    stage, run_id, inputs = failure
    read = ", ".join(f"{table}@{version}" for table, version in sorted(inputs.items()))
    return f"stage {stage} (run {run_id}; read {read or 'no table'})"
