"""Errors of the user stages."""

from __future__ import annotations

from pipelines.errors import InputError


class UsersInputError(InputError):
    """A table the user stages read is missing: run the stage that writes it first."""
