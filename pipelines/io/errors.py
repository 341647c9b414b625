"""Errors of reading sources."""

from pipelines.errors import InputError


class SourceError(InputError):
    """The source table is missing, unreadable, or lacks a configured column."""
