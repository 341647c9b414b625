"""Errors of publishing: transient ones are retried, terminal ones are not."""

from pipelines.errors import PipelineError


class PublishError(PipelineError):
    """Publishing failed; the served alias is unchanged."""


class VectorStoreUnavailable(PublishError):
    """The store refused or dropped the connection (retried with backoff first)."""

    transient = True


class PublishDeadlineExceeded(VectorStoreUnavailable):
    """The publish ran past [publish] deadline_s; a later run may be faster."""


class VectorStoreLocked(PublishError):
    """Another process holds the embedded store's folder: a retry right away cannot help."""


class VectorStoreAuthError(PublishError):
    """The store rejected the credentials: retrying cannot help."""


class NotValidatedError(PublishError):
    """The table version to publish has no passed validation."""


class ReconcileMismatch(PublishError):
    """Delta and the vector store disagree."""
