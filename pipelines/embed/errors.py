"""Errors of the embedding stages."""

from pipelines.errors import InputError, PipelineError


class MassDeleteError(InputError):
    """A run would tombstone more of the live items than the configured share."""


class AccountingError(PipelineError):
    """The rows a stage read do not add up to the rows it wrote and quarantined."""


class UsersInputError(InputError):
    """A table the user stages read is missing: run the stage that writes it first."""
