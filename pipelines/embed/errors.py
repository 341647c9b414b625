"""Errors of the embedding stage."""

from pipelines.errors import InputError, PipelineError


class BackendError(PipelineError):
    """An embedding backend cannot be built or disagrees with the reference."""


class SourceError(InputError):
    """The source table is missing, unreadable, or lacks a configured column."""


class MassDeleteError(InputError):
    """A run would tombstone more of the live items than the configured share."""


class NoValidatedVersionError(InputError):
    """No version of a table has passed validation, so nothing downstream may read it."""


class AccountingError(PipelineError):
    """The rows a stage read do not add up to the rows it wrote and quarantined."""
