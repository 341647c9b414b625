"""Errors of publishing; the vector store's own are in ``pipelines.vectorstore.errors``."""

from pipelines.errors import PipelineError


class PublishError(PipelineError):
    """Publishing failed; the served alias is unchanged."""


class NotValidatedError(PublishError):
    """The table version to publish has no passed validation."""
