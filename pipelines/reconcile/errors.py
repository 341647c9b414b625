"""Errors of reconciliation."""

from pipelines.errors import PipelineError


class ReconcileMismatch(PipelineError):
    """Delta and the vector store disagree."""
