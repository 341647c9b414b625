"""``pipelines init SOURCE [--events EVENTS]``: a commented pipelines.toml proposed from a
look at the data (its header and a sample of rows, read without Spark).

Each column is profiled on the sample: an identifier (unique, never empty), text, a number,
a time or a URL. The catalog's id is the identifier, its text template joins the text columns
(a title first, then "by" a brand or author, long descriptions last), and the payload keeps
what is short enough to show. Event columns are picked by name, then by what they hold.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import ConfigError
from pipelines.io.schema import sample_rows, source_format

if TYPE_CHECKING:
    import pandas as pd

SAMPLE_ROWS = 10_000
PROFILE_VALUES = 200  # values parsed per column to tell numbers and times from text
LONG_TEXT = 60  # mean characters above which a text is a description, not a label
ID_NAMES = re.compile(r"(^|_)(id|key|sku|uuid|code|asin|isbn|ean|upc|gtin)$|[a-z]id$", re.I)
TITLE_NAMES = ("title", "name", "product_name", "product_title", "headline", "label")
BY_NAMES = ("brand", "author", "artist", "manufacturer", "maker", "publisher", "director")
TIME_NAMES = re.compile(r"time|date|timestamp|^ts$|_at$|^when", re.I)
USER_NAMES = re.compile(r"user|customer|visitor|member|client|account|shopper|buyer|session", re.I)
ITEM_NAMES = re.compile(r"item|product|sku|movie|article|book|listing|asin|offer", re.I)
TYPE_NAMES = re.compile(r"type|action|event|kind|verb|interaction|behaviou?r", re.I)
QUERY_NAMES = re.compile(r"query|search", re.I)
MAX_EVENT_TYPES = 50


@dataclass(frozen=True)
class Column:
    """What the sample says about one column."""

    name: str
    kind: str  # code | text | number | time | url | empty
    unique: bool  # no value repeats in the sample
    complete: bool  # no value is missing in the sample
    mean_length: float
    distinct: int


def _numeric(values: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.to_numeric(values, errors="coerce").notna().mean() >= 0.95)


def _times(values: pd.Series) -> bool:
    import pandas as pd

    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    return bool(parsed.notna().mean() >= 0.95)


def _kind(name: str, series: pd.Series, text: pd.Series) -> str:
    import pandas as pd

    if text.empty:
        return "empty"
    head = text.head(PROFILE_VALUES)
    if pd.api.types.is_datetime64_any_dtype(series) or (not _numeric(head) and _times(head)):
        return "time"
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return "number"
    if _numeric(head):
        epoch = head.str.fullmatch(r"\d{9,11}").all()
        return "time" if epoch and TIME_NAMES.search(name) else "number"
    if head.str.match(r"https?://").mean() >= 0.95:
        return "url"
    spaced = head.str.contains(r"\s").any()
    return "code" if not spaced and (ID_NAMES.search(name) or text.is_unique) else "text"


def profile(frame: pd.DataFrame) -> list[Column]:
    """Each column of ``frame``, in order."""
    columns = []
    for name in frame.columns:
        series = frame[name]
        text = series.dropna().astype(str).str.strip()
        text = text[text != ""]
        complete = len(text) == len(series)
        columns.append(
            Column(
                name=str(name),
                kind=_kind(str(name), series, text),
                unique=complete and text.is_unique,
                complete=complete,
                mean_length=float(text.str.len().mean()) if len(text) else 0.0,
                distinct=int(text.nunique()),
            )
        )
    return columns


def _named(columns: list[Column], names: tuple[str, ...]) -> Column | None:
    by_name = {c.name.lower(): c for c in columns}
    return next((by_name[n] for n in names if n in by_name), None)


def propose_id(columns: list[Column]) -> Column:
    """The unique, never-empty column, an id-like name and no spaces first."""
    keys = [c for c in columns if c.unique and c.complete]

    def rank(column: Column) -> tuple[bool, bool]:
        return (not ID_NAMES.search(column.name), column.kind != "code")

    if not keys:
        names = ", ".join(repr(c.name) for c in columns)
        raise ConfigError(
            f"no column is unique and never empty in the rows sampled (its columns are: {names});"
            " an item needs an id: add one, or write [catalog] id_column by hand"
        )
    return min(keys, key=rank)


def propose_template(columns: list[Column], id_column: str) -> str:
    """The text columns as one format string: "{title} by {brand}. {category}. {description}"."""
    texts = [c for c in columns if c.kind == "text" and c.name != id_column]
    if not texts:
        names = ", ".join(repr(c.name) for c in columns)
        raise ConfigError(
            f"no text column to embed among {names}; write [catalog] text_template by hand,"
            " e.g. '{title}: {description}'"
        )
    head = _named(texts, TITLE_NAMES) or texts[0]
    by = _named([c for c in texts if c is not head], BY_NAMES)
    rest = [c for c in texts if c not in (head, by)]
    rest.sort(key=lambda c: c.mean_length > LONG_TEXT)  # descriptions last, order kept
    template = "{" + head.name + "}" + (" by {" + by.name + "}" if by else "")
    return template + "".join(". {" + c.name + "}" for c in rest)


def propose_payload(columns: list[Column], id_column: str) -> list[str]:
    """Short values worth showing with a result: labels, numbers, times, links."""
    short = [c for c in columns if c.kind != "text" or c.mean_length <= LONG_TEXT]
    return [c.name for c in short if c.name != id_column and c.kind != "empty"]


@dataclass(frozen=True)
class EventColumns:
    user: str
    item: str
    time: str
    type: str | None
    text: str | None


def _pick(columns: list[Column], pattern: re.Pattern, taken: set[str]) -> Column | None:
    return next((c for c in columns if c.name not in taken and pattern.search(c.name)), None)


def _required(found: Column | None, role: str, key: str, columns: list[Column]) -> str:
    if found is None:
        names = ", ".join(repr(c.name) for c in columns)
        raise ConfigError(
            f"cannot tell which events column holds the {role} (its columns are: {names});"
            f" write [events] {key} by hand"
        )
    return found.name


def propose_events(columns: list[Column], item_id: str) -> EventColumns:
    user = _required(_pick(columns, USER_NAMES, set()), "user", "user_column", columns)
    same = [c for c in columns if c.name == item_id and c.name != user]
    item_found = same[0] if same else _pick(columns, ITEM_NAMES, {user})
    item = _required(item_found, "item", "item_column", columns)
    taken = {user, item}
    times = [c for c in columns if c.kind == "time" and c.name not in taken]
    found = _pick(times, TIME_NAMES, taken) or (times[0] if times else None)
    time = _required(found, "event time", "timestamp_column", columns)
    taken.add(time)
    kinds = [c for c in columns if c.kind in ("text", "code") and c.distinct <= MAX_EVENT_TYPES]
    kind = _pick(kinds, TYPE_NAMES, taken)
    text = _pick([c for c in columns if c.kind == "text"], QUERY_NAMES, taken)
    return EventColumns(user, item, time, kind and kind.name, text and text.name)


def _toml(value) -> str:
    return json.dumps(value)  # a JSON string or list of strings is valid TOML


def _relative(path: Path, out: Path) -> str:
    return os.path.relpath(path.resolve(), out.resolve().parent)


def catalog_section(source: Path, fmt: str, out: Path, columns: list[Column], rows: int) -> str:
    key = propose_id(columns).name
    template = propose_template(columns, key)
    payload = propose_payload(columns, key)
    return f"""[catalog]
source = {_toml(_relative(source, out))}
format = {_toml(fmt)}
# the item's id: unique and never empty in the {rows} rows sampled
id_column = {_toml(key)}
# the text embedded per item: the text columns, not ids, numbers or dates
# (the default, if this key is left out, is "{{title}}")
text_template = {_toml(template)}
# stored with each vector and returned with each result
payload_columns = {_toml(payload)}
"""


def events_section(source: Path, fmt: str, out: Path, chosen: EventColumns, rows: int) -> str:
    kind = (
        f"type_column = {_toml(chosen.type)}   # weighs events by [users] event_weights"
        if chosen.type
        else "# type_column = ...   # none found: every event weighs [users] default_event_weight"
    )
    text = (
        f"text_column = {_toml(chosen.text)}   # free text, embedded too\n" if chosen.text else ""
    )
    return f"""
[events]
source = {_toml(_relative(source, out))}
format = {_toml(fmt)}
# chosen by name and content from the {rows} rows sampled
user_column = {_toml(chosen.user)}
item_column = {_toml(chosen.item)}
timestamp_column = {_toml(chosen.time)}   # ISO-8601 text or epoch seconds
{kind}
{text}"""


def _sample(section: str, path: Path) -> tuple[str, pd.DataFrame]:
    fmt = source_format(path) if path.exists() else "csv"
    return fmt, sample_rows(section, path, fmt, SAMPLE_ROWS, "utf-8")


def propose_config(source: Path, events: Path | None, out: Path) -> str:
    """The text of a pipelines.toml for ``source`` (and ``events``), written at ``out``."""
    fmt, frame = _sample("catalog", source)
    columns = profile(frame)
    text = HEADER.format(source=source) + catalog_section(source, fmt, out, columns, len(frame))
    if events is not None:
        item_id = propose_id(columns).name
        events_fmt, events_frame = _sample("events", events)
        chosen = propose_events(profile(events_frame), item_id)
        text += events_section(events, events_fmt, out, chosen, len(events_frame))
    return text


HEADER = """# pipelines.toml proposed by `pipelines init` from {source}.
# Check each proposal, then: pipelines run --config <this file>
# Every key left out takes its default; pipelines.example.toml lists them all.

[lake]
root = "lakehouse"          # every table is written under this folder

"""


def cmd_init(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not args.force:
        raise ConfigError(f"{out} exists: pass --force to overwrite it, or --out another file")
    text = propose_config(args.source, args.events, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    proposed = [line for line in text.splitlines() if line and not line.startswith("#")]
    print(f"wrote {out}, proposing:")
    print("\n".join(f"  {line}" for line in proposed))
    print(f"check it, then run: pipelines run --config {out}")
    return 0
