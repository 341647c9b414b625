"""Errors of the neighbors stage."""

from pipelines.errors import PipelineError


class AnnRecallError(PipelineError):
    """The approximate graph missed too many of the exact neighbours on the recall sample;
    nothing was written. Not transient: the same index and settings give the same recall."""
