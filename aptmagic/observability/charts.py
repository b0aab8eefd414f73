"""Small server-rendered SVG charts (no script, no inline style: presentation
attributes only, so the page's Content-Security-Policy holds)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
AXIS = "#3a4154"
LABEL = "#9aa1b2"
COLORS = {"requests": "#7c5cff", "succeeded": "#22c3a6", "failed": "#ff7b7b", "canceled": "#f0b429",
          "queue": "#7c5cff", "p50": "#22c3a6", "p95": "#7c5cff"}  # fmt: skip


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _frame(title_id: str, title: str, body: list[str], top: float, width: int = WIDTH, height: int = HEIGHT) -> Markup:
    plot_h = height - TOP - BOTTOM
    grid = []
    for i in range(5):
        y = TOP + plot_h * i / 4
        grid.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width - RIGHT}" y2="{y:.1f}" stroke="{AXIS}" stroke-width="1"/>'
        )
        label = _fmt(top * (4 - i) / 4)
        grid.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{LABEL}" font-size="11">{label}</text>'
        )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{title_id}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{title_id}">{escape(title)}</title>'
        + "".join(grid)
        + "".join(body)
        + "</svg>"
    )


def _hour_labels(labels: Sequence[str], slot: float) -> list[str]:
    out = []
    for i, label in enumerate(labels):
        if i % 3 == 0:
            x = LEFT + slot * (i + 0.5)
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" fill="{LABEL}" font-size="11">'
                       f"{escape(label)}</text>")  # fmt: skip
    return out


def stacked_bars(title_id: str, title: str, labels: Sequence[str], series: dict[str, Sequence[int]]) -> Markup:
    """One bar per label, stacked by series (drawn in the order given)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = nice_max(max(totals, default=0))
    plot_h, slot = HEIGHT - TOP - BOTTOM, (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    body = []
    for i, label in enumerate(labels):
        base: float = HEIGHT - BOTTOM
        for name, values in series.items():
            if not values[i]:
                continue
            h = plot_h * values[i] / top
            base -= h
            body.append(
                f'<rect x="{LEFT + slot * i + slot * 0.15:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{COLORS.get(name, COLORS["requests"])}">'
                f"<title>{escape(label)} UTC: {values[i]} {escape(name)}</title></rect>"
            )
    return _frame(title_id, title, body + _hour_labels(labels, slot), top)


def line(
    title_id: str, title: str, labels: Sequence[str], values: Sequence[int], color: str = COLORS["queue"]
) -> Markup:
    top = nice_max(max(values, default=0))
    plot_h, slot = HEIGHT - TOP - BOTTOM, (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    points = [(LEFT + slot * (i + 0.5), HEIGHT - BOTTOM - plot_h * v / top) for i, v in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    body = [f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>']
    body += [
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(labels[i])} UTC: {values[i]}</title></circle>'
        for i, (x, y) in enumerate(points)
    ]
    return _frame(title_id, title, body + _hour_labels(labels, slot), top)


def range_bars(title_id: str, title: str, rows: Sequence[tuple[str, float, float]]) -> Markup:
    """Horizontal bars per model: p95 (long, faint) behind p50 (short, solid), in seconds."""
    row_h, label_w = 30, 150
    height = max(1, len(rows)) * row_h + 36
    top = nice_max(max((p95 for _, _, p95 in rows), default=0))
    plot_w = WIDTH - label_w - RIGHT - 70
    body = [
        (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{title_id}" '
         f'xmlns="http://www.w3.org/2000/svg"><title id="{title_id}">{escape(title)}</title>')
    ]  # fmt: skip
    for i, (model, p50, p95) in enumerate(rows):
        y = 8 + i * row_h
        body += [
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="{LABEL}" font-size="12">{escape(model[:22])}</text>',
            (f'<rect x="{label_w}" y="{y + 4}" width="{plot_w * p95 / top:.1f}" height="16" fill="{COLORS["p95"]}" '
             f'opacity="0.45"><title>{escape(model)} p95 {p95:.3f} s</title></rect>'),
            (f'<rect x="{label_w}" y="{y + 4}" width="{plot_w * p50 / top:.1f}" height="16" fill="{COLORS["p50"]}">'
             f"<title>{escape(model)} p50 {p50:.3f} s</title></rect>"),
            (f'<text x="{label_w + plot_w * p95 / top + 6:.1f}" y="{y + 16}" fill="{LABEL}" font-size="11">'
             f"{p50:.2f} / {p95:.2f} s</text>"),
        ]  # fmt: skip
    axis_y = height - 20
    body.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" stroke="{AXIS}"/>')
    for i in range(5):
        x = label_w + plot_w * i / 4
        body.append(f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="{LABEL}" font-size="11">'
                    f"{_fmt(round(top * i / 4, 3))} s</text>")  # fmt: skip
    return Markup("".join(body) + "</svg>")
