"""Errors of the lake (table engines)."""

from pipelines.errors import PipelineError


class LakeError(PipelineError):
    """A table cannot be read or written."""


class TableNotFoundError(LakeError):
    """The table has no Delta log yet."""


class EngineUnavailableError(LakeError):
    """The configured engine cannot run in this Spark session (e.g. a missing jar)."""
