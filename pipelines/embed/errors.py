"""Errors of the embedding stage."""

from pipelines.errors import InputError, PipelineError


class BackendError(PipelineError):
    """An embedding backend cannot be built or disagrees with the reference."""


class SourceError(InputError):
    """The source table is missing, unreadable, or lacks a configured column."""
