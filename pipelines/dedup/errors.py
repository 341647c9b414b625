"""Errors of the dedup stage."""

from __future__ import annotations

from pipelines.errors import InputError


class DedupInputError(InputError):
    """A table dedup reads is missing: run the stage that writes it first."""
