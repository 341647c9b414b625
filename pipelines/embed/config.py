"""Configuration of the embedding stages: the catalog and events sources."""

from __future__ import annotations

import string

from pydantic import Field, field_validator

from pipelines.io.config import SourceConfig


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


class CatalogConfig(SourceConfig):
    id_column: str = "item_id"
    text_template: str = "{title}"  # `pipelines init` proposes one from the text columns
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

    def named_columns(self) -> dict[str, list[str]]:
        """The source columns each key names, by key."""
        return {
            "id_column": [self.id_column],
            "text_template": template_fields(self.text_template),
            "payload_columns": list(self.payload_columns),
        }


class EventsConfig(SourceConfig):
    user_column: str = "user_id"
    item_column: str = "item_id"
    timestamp_column: str = "event_time"
    # unset: every event weighs [users] default_event_weight
    type_column: str | None = None
    text_column: str | None = None  # free text of an event (a search query), embedded too
    # an interval run also re-reads this many hours before its interval: events that arrived
    # after their hour ran are picked up, and the hours' rows replaced, never duplicated
    lookback_hours: int = Field(default=0, ge=0, le=24 * 31)

    @field_validator("type_column", "text_column")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        # older configs turned the type column off with ""
        return value or None

    def named_columns(self) -> dict[str, list[str]]:
        """The source columns each key names, by key (optional ones only when set)."""
        named = {
            "user_column": [self.user_column],
            "item_column": [self.item_column],
            "timestamp_column": [self.timestamp_column],
            "type_column": [self.type_column],
            "text_column": [self.text_column],
        }
        return {key: columns for key, columns in named.items() if columns != [None]}
