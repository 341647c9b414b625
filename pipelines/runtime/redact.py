"""Hide secrets before a value reaches a message: secret-named keys, URL user-info and
secret query parameters."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HIDDEN = "***"
_SECRET_NAME = re.compile(
    r"api_?key|token|secret|passw(or)?d|pwd|credential|private_?key|access_?key|auth(?!or)"
    r"|signature|session_?key",
    re.IGNORECASE,
)
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def is_secret_name(name: object) -> bool:
    """Whether a key, variable or parameter name suggests that its value is a secret."""
    return bool(_SECRET_NAME.search(str(name).replace("-", "_")))


def redact_url(url: str) -> str:
    """``url`` with its user-info and the values of secret-named query parameters hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL: hide what could be user-info
        return re.sub(r"//[^/@]*@", f"//{HIDDEN}@", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(is_secret_name(key) for key, _ in pairs):
        query = urlencode([(k, HIDDEN if is_secret_name(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url`."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


def redact(name: object, value: Any) -> str:
    """How to show ``value`` of key ``name`` in a message: repr-like, secrets hidden."""
    if is_secret_name(name):
        return HIDDEN
    if isinstance(value, dict):
        items = ", ".join(f"{key!r}: {redact(key, item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(redact(name, item) for item in value) + "]"
    if isinstance(value, str):
        return repr(redact_text(value))
    return repr(value)


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with each known secret string replaced, and its URLs redacted."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, HIDDEN)
    return redact_text(text)
