"""Charts as inline SVG, drawn on the server (no chart library, no script): horizontal
bars, stacked columns over time, lines over time. Every label is escaped; the SVG
scales to its box through its viewBox, so one drawing fits 390 px and 1280 px.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 420
LEFT = 40  # room for the value axis' labels
BOTTOM = 20  # room for the time axis' labels
TOP = 14  # room above the highest value for its axis label
LABEL_CHARS = (16, 30)  # a bar's label gets room for this many characters, at least / most
CHAR_WIDTH = 7.2  # of a 13 px label, roughly


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    css: str = "bar"  # class of its bars or line (console.css colours them)


def _nice_top(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 4, 6, 8, 10):  # halves of these are whole numbers from 2 up
        if value <= step * factor:
            return step * factor
    return step * 10


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def _svg(height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def bars(title: str, items: Sequence[tuple[str, float]], css: str = "bar") -> Markup:
    """One horizontal bar a label, with its value written at the end."""
    row = 24
    height = max(row * len(items), row) + 4
    top = max((v for _, v in items), default=0) or 1
    longest = max((len(label) for label, _ in items), default=0)
    label_w = CHAR_WIDTH * min(max(longest, LABEL_CHARS[0]), LABEL_CHARS[1]) + 8
    room = WIDTH - label_w - 48
    body = []
    for i, (label, value) in enumerate(items):
        y = i * row + 2
        w = max(room * value / top, 1 if value else 0)
        body.append(
            f'<text x="{label_w - 6:.1f}" y="{y + 16}" text-anchor="end">{escape(_short(label))}'
            f"<title>{escape(label)}</title></text>"
            f'<rect class="{css}" x="{label_w:.1f}" y="{y + 4}" width="{w:.1f}"'
            f' height="{row - 8}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 16}">{_number(value)}</text>'
        )
    if not items:
        body.append(f'<text x="{WIDTH / 2}" y="16" text-anchor="middle">nothing yet</text>')
    return _svg(height, title, body)


def _short(label: str) -> str:
    """A bar's label within its room (the whole one is its tooltip)."""
    most = LABEL_CHARS[1]
    return label if len(label) <= most else label[: most - 1] + "…"


def _frame(height: int, top: float, labels: Sequence[str], every: int) -> list[str]:
    base = height - BOTTOM
    body = [f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}"/>']
    for fraction in (0.5, 1.0):
        y = base - (base - TOP) * fraction  # where a value of top * fraction reaches
        body.append(
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(top * fraction)}</text>"
            f'<line class="axis" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}"/>'
        )
    slot = (WIDTH - LEFT) / max(len(labels), 1)
    for i, label in enumerate(labels):
        if i % every == 0:
            x, anchor = LEFT + slot * i + slot / 2, "middle"
            if x + CHAR_WIDTH * len(label) / 2 > WIDTH:  # it would be cut at the right edge
                x, anchor = WIDTH, "end"
            body.append(
                f'<text x="{x:.1f}" y="{height - 4}" text-anchor="{anchor}">{escape(label)}</text>'
            )
    return body


def columns(
    title: str, labels: Sequence[str], series: Sequence[Series], height: int = 160, every: int = 3
) -> Markup:
    """Stacked columns, one a label (an hour, a day), the series stacked bottom up."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_top(max(totals, default=0))
    body = _frame(height, top, labels, every)
    plot_h = height - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(labels), 1)
    for i in range(len(labels)):
        base = float(height - BOTTOM)
        for s in series:
            h = plot_h * s.values[i] / top
            if h <= 0:
                continue
            base -= h
            body.append(
                f'<rect class="{s.css}" x="{LEFT + slot * i + 1:.1f}" y="{base:.1f}"'
                f' width="{max(slot - 2, 1):.1f}" height="{h:.1f}">'
                f"<title>{escape(labels[i])} {escape(s.name)}: {_number(s.values[i])}"
                "</title></rect>"
            )
    return _svg(height, title, body)


def lines(
    title: str, labels: Sequence[str], series: Sequence[Series], height: int = 160, every: int = 3
) -> Markup:
    """One line a series over the labels (a value of None is a gap)."""
    top = _nice_top(max((v for s in series for v in s.values), default=0))
    body = _frame(height, top, labels, every)
    plot_h = height - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(labels), 1)
    for s in series:
        points = [
            f"{LEFT + slot * i + slot / 2:.1f},{height - BOTTOM - plot_h * v / top:.1f}"
            for i, v in enumerate(s.values)
        ]
        if points:
            body.append(f'<polyline class="{s.css}" points="{" ".join(points)}"/>')
    return _svg(height, title, body)
