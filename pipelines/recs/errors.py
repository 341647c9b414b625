"""Errors of the recommendation stages."""

from __future__ import annotations

from pipelines.errors import InputError


class RecsInputError(InputError):
    """A table the recommendations read is missing: run the stage that writes it first."""
