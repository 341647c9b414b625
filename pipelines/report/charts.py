"""Static charts as inline SVG: a histogram, a line chart and a scatter map. The report is
one file that opens offline, and these three need no plotting library."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

WIDTH, HEIGHT = 600, 280
MAP_WIDTH, MAP_HEIGHT = 900, 480
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44
PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
LINE_COLOURS = ("#d62728", "#9467bd", "#8c564b", "#e377c2")


@dataclass(frozen=True)
class Marker:
    """A vertical (or, on a line chart, horizontal) line at ``value`` named ``label``."""

    value: float
    label: str


class Scale:
    def __init__(self, lo: float, hi: float, start: float, end: float, integer: bool = False):
        if hi <= lo:
            lo, hi = lo - (1 if integer else 0.5), hi + (1 if integer else 0.5)
        self.lo, self.hi, self.start, self.end = lo, hi, start, end
        self.integer = integer

    def __call__(self, value: float) -> float:
        share = (value - self.lo) / (self.hi - self.lo)
        return round(self.start + share * (self.end - self.start), 2)

    def ticks(self, count: int = 5) -> list[float]:
        raw = max((self.hi - self.lo) / count, 1 if self.integer else 0)
        power = 10 ** math.floor(math.log10(raw))
        steps = (1, 2, 5, 10) if self.integer else (1, 2, 2.5, 5, 10)
        step = next(m * power for m in steps if m * power >= raw)
        first = math.ceil(self.lo / step) * step
        return [
            round(first + i * step, 10) for i in range(count + 2) if first + i * step <= self.hi
        ]


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _frame(title: str, body: list[str], label: str, size=(WIDTH, HEIGHT)) -> str:
    width, height = size
    head = (
        f'<svg class="chart" role="img" aria-label="{escape(label)}"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>'
    )
    return head + "".join(body) + "</svg>"


def _axes(
    x: Scale, y: Scale, xlabel: str, ylabel: str, yticks: list[tuple[float, str]] | None = None
) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" class="axis"/>',
    ]
    for tick in x.ticks():
        parts.append(f'<text x="{x(tick)}" y="{bottom + 14}" class="tick mid">{_fmt(tick)}</text>')
    for at, text in yticks if yticks is not None else [(t, _fmt(t)) for t in y.ticks(4)]:
        parts.append(f'<line x1="{LEFT}" y1="{y(at)}" x2="{right}" y2="{y(at)}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y(at) + 4}" class="tick end">{text}</text>')
    parts.append(
        f'<text x="{(LEFT + right) / 2}" y="{HEIGHT - 6}" class="label mid">{escape(xlabel)}</text>'
    )
    parts.append(
        f'<text x="12" y="{(TOP + bottom) / 2}" class="label mid"'
        f' transform="rotate(-90 12 {(TOP + bottom) / 2})">{escape(ylabel)}</text>'
    )
    return parts


def _vertical(x: Scale, marker: Marker, colour: str, row: int) -> list[str]:
    at = x(marker.value)
    left = at > (x.start + x.end) / 2  # the label reads towards the middle
    anchor, shift = (' text-anchor="end"', -4) if left else ("", 4)
    return [
        f'<line x1="{at}" y1="{TOP}" x2="{at}" y2="{HEIGHT - BOTTOM}" stroke="{colour}"'
        ' stroke-width="2" stroke-dasharray="5 3"/>',
        f'<text x="{at + shift}" y="{TOP + 12 + 13 * row}" fill="{colour}" class="tick"{anchor}>'
        f"{escape(marker.label)} {_fmt(marker.value)}</text>",
    ]


def histogram(
    values: Sequence[float] | np.ndarray,
    *,
    title: str,
    xlabel: str,
    markers: Sequence[Marker] = (),
    bins: int = 40,
    log_count: bool = False,
) -> str:
    """``log_count``: bar heights on a log scale, for counts piled up at one end."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    edges_from = [*data.tolist(), *(m.value for m in markers)]
    lo, hi = min(edges_from, default=0.0), max(edges_from, default=1.0)
    counts, edges = np.histogram(data, bins=bins, range=(lo, hi if hi > lo else lo + 1))
    x = Scale(float(edges[0]), float(edges[-1]), LEFT, WIDTH - RIGHT)
    height = _log(counts) if log_count else counts.astype(float)
    y = Scale(0, max(float(height.max(initial=0)), 1.0) * 1.05, HEIGHT - BOTTOM, TOP)
    yticks = _log_ticks(int(counts.max(initial=1))) if log_count else None
    body = _axes(x, y, xlabel, "count (log)" if log_count else "count", yticks)
    for count, bar, left, right in zip(counts, height, edges[:-1], edges[1:], strict=True):
        if count:
            top = y(bar)
            body.append(
                f'<rect x="{x(left)}" y="{top}" width="{max(x(right) - x(left) - 1, 1):.2f}"'
                f' height="{round(HEIGHT - BOTTOM - top, 2)}" class="bar">'
                f"<title>{_fmt(left)}–{_fmt(right)}: {count}</title></rect>"
            )
    for row, marker in enumerate(markers):
        body += _vertical(x, marker, LINE_COLOURS[row % len(LINE_COLOURS)], row)
    return _frame(title, body, f"{title}: histogram of {len(data)} values")


def _log(counts: np.ndarray) -> np.ndarray:
    return np.log10(counts.astype(float) + 1)


def _log_ticks(most: int) -> list[tuple[float, str]]:
    powers = [10**p for p in range(len(str(max(most, 1))))]
    return [(float(np.log10(n + 1)), f"{n:,}") for n in powers]


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    markers: Sequence[Marker] = (),
) -> str:
    """Each series a list of (x, y); ``markers`` are horizontal lines at y."""
    xs = [p[0] for points in series.values() for p in points]
    ys = [p[1] for points in series.values() for p in points] + [m.value for m in markers]
    whole = all(float(v).is_integer() for v in xs)
    x = Scale(min(xs, default=0), max(xs, default=1), LEFT + 8, WIDTH - RIGHT - 8, whole)
    span = (max(ys, default=1) - min(ys, default=0)) or 1
    y = Scale(
        min(ys, default=0) - 0.05 * span, max(ys, default=1) + 0.05 * span, HEIGHT - BOTTOM, TOP
    )
    body = _axes(x, y, xlabel, ylabel)
    for row, marker in enumerate(markers):
        colour = LINE_COLOURS[row % len(LINE_COLOURS)]
        at = y(marker.value)
        body.append(
            f'<line x1="{LEFT}" y1="{at}" x2="{WIDTH - RIGHT}" y2="{at}" stroke="{colour}"'
            f' stroke-dasharray="5 3"/><text x="{WIDTH - RIGHT - 4}" y="{at - 3}" fill="{colour}"'
            f' class="tick end">{escape(marker.label)} {_fmt(marker.value)}</text>'
        )
    for index, (name, points) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        path = " ".join(f"{x(px)},{y(py)}" for px, py in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for px, py in points:
            body.append(
                f'<circle cx="{x(px)}" cy="{y(py)}" r="3.5" fill="{colour}">'
                f"<title>{escape(name)} at {_fmt(px)}: {py:.4g}</title></circle>"
            )
    return _frame(title, body, f"{title}: {', '.join(series)}")


def scatter(
    points: np.ndarray,
    groups: Sequence[str],
    highlight: Sequence[bool],
    labels: Sequence[str],
    *,
    title: str,
) -> str:
    """A 2-D map: ``points`` (n, 2) coloured by group, highlighted ones ringed and on top;
    the legend names the groups in order of size."""
    names = _legend_order(groups)
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    (x_lo, y_lo), (x_hi, y_hi) = points.min(axis=0), points.max(axis=0)
    x = Scale(float(x_lo), float(x_hi), 14, MAP_WIDTH - 176)
    y = Scale(float(y_lo), float(y_hi), MAP_HEIGHT - 14, TOP + 6)
    order = sorted(range(len(points)), key=lambda i: bool(highlight[i]))
    plot = f'width="{MAP_WIDTH - 158}" height="{MAP_HEIGHT - TOP}"'
    body = [f'<rect x="4" y="{TOP - 4}" {plot} class="plot"/>']
    for i in order:
        ring = ' stroke="#111" stroke-width="1.6" r="5"' if highlight[i] else ' r="3"'
        body.append(
            f'<circle cx="{x(points[i, 0])}" cy="{y(points[i, 1])}"{ring}'
            f' fill="{colour[groups[i]]}" fill-opacity="0.8">'
            f"<title>{escape(labels[i])}</title></circle>"
        )
    body += _legend(names, colour)
    return _frame(title, body, f"{title}: {len(points)} points", (MAP_WIDTH, MAP_HEIGHT))


def _legend_order(groups: Sequence[str]) -> list[str]:
    counts: dict[str, int] = {}
    for group in groups:
        counts[group] = counts.get(group, 0) + 1
    return sorted(counts, key=lambda g: (-counts[g], g))


def _legend(names: list[str], colour: dict[str, str]) -> list[str]:
    left = MAP_WIDTH - 146
    parts = []
    for row, name in enumerate(names[:14]):
        top = TOP + 4 + 15 * row
        parts.append(f'<circle cx="{left}" cy="{top}" r="4" fill="{colour[name]}"/>')
        parts.append(f'<text x="{left + 8}" y="{top + 4}" class="tick">{escape(name[:20])}</text>')
    top = TOP + 8 + 15 * min(len(names), 14)
    parts.append(
        f'<circle cx="{left}" cy="{top}" r="5" fill="#fff" stroke="#111" stroke-width="1.6"/>'
    )
    parts.append(f'<text x="{left + 8}" y="{top + 4}" class="tick">dedup cluster member</text>')
    return parts
