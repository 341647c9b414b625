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
    """A stage failed; wraps the cause with the stage name and its inputs."""

    def __init__(self, stage: str, message: str):
        super().__init__(f"stage {stage!r} failed: {message}")
        self.stage = stage
