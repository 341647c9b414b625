"""The page: inline styles, sections with ids, tables, and the plain "not run yet" note."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

NOT_RUN = "not run yet"

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1d232a; margin: 0; background: #f6f7f9; }
header { background: #1d2f44; color: #fff; padding: 16px 28px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 2px 0; color: #c9d3de; }
nav { padding: 8px 28px; background: #fff; border-bottom: 1px solid #dde2e8; }
nav a { margin-right: 14px; color: #1d5fa0; text-decoration: none; }
main { padding: 0 28px 40px; max-width: 1280px; }
section { background: #fff; border: 1px solid #dde2e8; border-radius: 6px;
  margin: 18px 0; padding: 6px 18px 16px; }
h2 { font-size: 17px; border-bottom: 1px solid #eef1f4; padding-bottom: 6px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
table { border-collapse: collapse; margin: 6px 0 10px; }
th, td { border: 1px solid #e3e7ec; padding: 3px 8px; text-align: left; vertical-align: top; }
td.long { overflow-wrap: anywhere; min-width: 12em; }
th { background: #f1f4f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.this-run td { background: #fffbe6; }
.missing { color: #8a5a00; background: #fff6e0; padding: 6px 10px; border-radius: 4px; }
.note { color: #5a6572; font-size: 12px; }
.pass { color: #1e7b34; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
.warn { color: #a86400; font-weight: 600; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; }
.card { border: 1px solid #e3e7ec; border-radius: 5px; padding: 4px 10px; flex: 1 1 380px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #fff; border: 1px solid #eef1f4; max-width: 100%; height: auto; }
svg .chart-title { font-weight: 600; font-size: 13px; }
svg .axis { stroke: #555; } svg .grid { stroke: #eceff2; } svg .bar { fill: #4e79a7; }
svg .plot { fill: #fbfcfd; stroke: #eef1f4; }
svg .tick { font-size: 11px; fill: #444; } svg .label { font-size: 12px; fill: #333; }
svg .mid { text-anchor: middle; } svg .end { text-anchor: end; }
"""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: str


def missing(what: str, fix: str = "") -> str:
    """The note a section shows for something the pipeline has not produced yet."""
    text = f"{NOT_RUN}: {what}" + (f"; {fix}" if fix else "")
    return f'<p class="missing">{escape(text)}</p>'


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return f"<td>{'' if value is None else escape(str(value).lower())}</td>"
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="num">{value:.4g}</td>'
    if isinstance(value, Raw):
        return f"<td>{value.html}</td>"
    text = str(value)
    long = ' class="long"' if any(len(word) > 30 for word in text.split()) else ""
    return f"<td{long}>{escape(text)}</td>"


@dataclass(frozen=True)
class Raw:
    """Cell content that is already HTML."""

    html: str


def table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], highlight: Sequence[bool] = ()
) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for index, row in enumerate(rows):
        marked = index < len(highlight) and highlight[index]
        cls = ' class="this-run"' if marked else ""
        body.append(f"<tr{cls}>" + "".join(_cell(_plain(v)) for v in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as Python's, a missing value as None."""
    if hasattr(value, "item") and not isinstance(value, Raw):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def verdict(status: str) -> Raw:
    cls = {"passed": "pass", "ok": "pass", "warn": "warn"}.get(status, "")
    if status.startswith("accepted"):
        cls = "warn"
    if status.lower().startswith(("failed", "fail")):
        cls = "fail"
    return Raw(f'<span class="{cls}">{escape(status)}</span>')


def page(title: str, facts: list[str], sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{s.id}">{escape(s.title)}</a>' for s in sections)
    header = "".join(f"<p>{escape(fact)}</p>" for fact in facts)
    body = "".join(
        f'<section id="{s.id}"><h2>{escape(s.title)}</h2>{s.body}</section>' for s in sections
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1>{header}</header><nav>{nav}</nav>"
        f"<main>{body}</main></body></html>"
    )
