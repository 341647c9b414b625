"""Text building: a template over columns, normalised, and hashed with the model id."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping

_WHITESPACE = re.compile(r"\s+")


def normalize_text(value: object, max_chars: int = 2000) -> str:
    """NFKC, control characters to spaces, whitespace collapsed, capped at ``max_chars``."""
    if value is None:
        return ""
    text = _controls_to_spaces(unicodedata.normalize("NFKC", str(value)))
    text = _WHITESPACE.sub(" ", text).strip()
    return text[:max_chars].rstrip()


def _controls_to_spaces(text: str) -> str:
    if text.isprintable():  # no control (C*) character: skip the per-character scan
        return text
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)


def render_text(template: str, row: Mapping[str, object], max_chars: int = 2000) -> str | None:
    """The row's text, or None when every field the template reads is empty."""
    fields = {key: normalize_text(value, max_chars) for key, value in row.items()}
    if not any(fields.values()):
        return None
    return normalize_text(template.format_map(fields), max_chars)


def content_hash(text: str, model_id: str) -> str:
    """Changes when the text or the model (backend included) changes: both mean re-embed."""
    return hashlib.sha256(f"{model_id}\x1f{text}".encode()).hexdigest()
