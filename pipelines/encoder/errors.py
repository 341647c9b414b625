"""Errors of the sentence encoder."""

from pipelines.errors import PipelineError


class BackendError(PipelineError):
    """An embedding backend cannot be built or disagrees with the reference."""
