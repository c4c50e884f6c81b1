"""Small SVG charts drawn on the server: no script library, nothing fetched from elsewhere, and
they print. Pure functions of the numbers and labels; every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 720, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 10, 10, 28


def _nice_max(value: float) -> int:
    """A round top for the y axis, at least 1."""
    top = max(1, int(value))
    for nice in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top <= nice:
            return nice
    magnitude: int = 10 ** (len(str(top)) - 1)
    return ((top + magnitude - 1) // magnitude) * magnitude


def _frame(title: str, y_max: int, body: list[str], labels: list[str]) -> str:
    plot_h = HEIGHT - _TOP - _BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" class="grid"/>'
        )
        value = y_max * fraction
        shown = f"{value:g}" if value != int(value) else str(int(value))
        parts.append(f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">')
        parts.append(f"{shown}</text>")
    parts.extend(body)
    parts.extend(labels)
    parts.append("</svg>")
    return "".join(parts)


def _x_labels(labels: Sequence[str], xs: Sequence[float], every: int) -> list[str]:
    """Every non-empty label at least ``every`` positions after the last one shown."""
    out: list[str] = []
    last = -every
    for index, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if label and index - last >= every:
            last = index
            out.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" class="axis" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return out


def step_chart(
    *,
    title: str,
    values: Sequence[int],
    peaks: Sequence[int],
    labels: Sequence[str],
    capacity: int | None = None,
    max_labels: int = 8,
) -> str:
    """Occupancy as a filled step line, the bucket peaks as a faint band above it, and the
    capacity as a dashed line."""
    if len(values) != len(peaks) or len(values) != len(labels):
        raise ValueError("values, peaks and labels must have the same length")
    y_max = _nice_max(max([*peaks, capacity or 0, 1]))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    n = max(1, len(values))
    step = plot_w / n

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - v / y_max)

    def outline(series: Sequence[int]) -> str:
        points = [f"{_LEFT},{y(0):.1f}"]
        for i, v in enumerate(series):
            points.append(f"{_LEFT + i * step:.1f},{y(v):.1f}")
            points.append(f"{_LEFT + (i + 1) * step:.1f},{y(v):.1f}")
        points.append(f"{_LEFT + n * step:.1f},{y(0):.1f}")
        return " ".join(points)

    body = []
    if values:
        body.append(f'<polygon points="{outline(peaks)}" class="peak"/>')
        body.append(f'<polygon points="{outline(values)}" class="area"/>')
    if capacity:
        cy = y(capacity)
        body.append(
            f'<line x1="{_LEFT}" y1="{cy:.1f}" x2="{WIDTH - _RIGHT}" y2="{cy:.1f}" class="cap"/>'
        )
    xs = [_LEFT + i * step for i in range(len(values))]
    every = max(1, -(-len(values) // max_labels))
    return _frame(title, y_max, body, _x_labels(labels, xs, every))


def bar_chart(
    *, title: str, values: Sequence[int], labels: Sequence[str], max_labels: int = 12
) -> str:
    """One bar per value, with the value in its tooltip."""
    if len(values) != len(labels):
        raise ValueError("values and labels must have the same length")
    y_max = _nice_max(max([*values, 1]))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    n = max(1, len(values))
    slot = plot_w / n
    body = []
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * value / y_max
        body.append(
            f'<rect x="{_LEFT + i * slot + slot * 0.15:.1f}" y="{_TOP + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}" class="col">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
    xs = [_LEFT + (i + 0.5) * slot for i in range(len(values))]
    every = max(1, -(-len(values) // max_labels))
    return _frame(title, y_max, body, _x_labels(labels, xs, every))
