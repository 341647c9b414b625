"""Configuration of a source table: where it is and how to read it."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

SourceFormat = Literal["csv", "parquet", "delta"]


class SourceConfig(BaseModel):
    """A table the pipeline reads: a path and its format."""

    model_config = ConfigDict(extra="forbid")

    source: Path | None = None
    format: SourceFormat = "csv"
    # CSV only: the files' text encoding, and whether quoted values may hold line breaks
    encoding: str = "utf-8"
    multiline: bool = False

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"unknown encoding {value!r}; use a Python codec name such as 'utf-8',"
                " 'latin-1' or 'cp1252'"
            ) from None
