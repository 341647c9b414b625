"""Errors of the vector store: transient ones are retried, terminal ones are not. Each names
the store and the call, never its credentials."""

from pipelines.errors import PipelineError


class VectorStoreError(PipelineError):
    """A vector store call failed or the store rejected it."""


class VectorStoreUnavailable(VectorStoreError):
    """The store refused or dropped the connection (retried with backoff first)."""

    transient = True


class PublishDeadlineExceeded(VectorStoreUnavailable):
    """The publish ran past [publish] deadline_s; a later run may be faster."""


class VectorStoreLocked(VectorStoreError):
    """Another process holds the embedded store's folder: a retry right away cannot help."""


class VectorStoreAuthError(VectorStoreError):
    """The store rejected the credentials: retrying cannot help."""
