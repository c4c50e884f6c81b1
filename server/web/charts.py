"""Small SVG charts drawn on the server: no script library, nothing fetched from elsewhere, and
they print. Pure functions of the numbers and words; every text is escaped.

Sizes are CSS pixels, not a viewBox: a chart scaled down to a phone's or a tablet's column
kept its drawing but shrank its text to 5 px. Here the chart takes its column's width, its
text stays ``FONT_PX``, and x positions are percentages of the plot, which is the chart less
a fixed gutter for the y-axis numbers. Only the filled series are drawn in a stretched
viewBox of their own (``preserveAspectRatio="none"``), which holds no text. The x labels are
spaced for the narrowest plot (a phone's).

Each point or bar is a ``<g class="point">`` with a ``<title>`` (the value on hover, and the
point's name for a screen reader); the first is focusable and staff.js moves focus between
them with the arrow keys, showing the value in the chart's readout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

HEIGHT = 240
FONT_PX = 12  # every text in a chart, as drawn: staff.css sets the same
_GUTTER = 44  # left of the plot: the y-axis numbers, right-aligned at _GUTTER - 6
_RIGHT = 12
_TOP = 30  # above the plot: the y-axis title (left) and the readout (right)
_X_LABELS = 22  # below the plot
_LEGEND = 24  # below the x labels, when there is a legend
NARROWEST_PLOT_PX = 290  # a 390 px phone: the figure's padding and the gutter off
_LABEL_GAP_PX = 14
_SWATCH_PX = 16
# Every n-th label, n one of these when it can be: hours by 3 or 6, days by the week.
_NICE_SPACINGS = (1, 2, 3, 4, 6, 7, 12, 14, 24, 28)


@dataclass(frozen=True, slots=True)
class LegendItem:
    """One entry of a chart's legend: ``swatch`` is the CSS class of what it stands for
    (``area``, ``peak``, ``cap``, ``col``)."""

    label: str
    swatch: str


def y_scale(top: float) -> tuple[int, list[int]]:
    """The y axis's top and its ticks: whole numbers in steps of 1, 2 or 5 times a power of
    ten, at most five of them, the top a tick at or above ``top``."""
    rough = max(1.0, top) / 4
    magnitude = 1
    while magnitude * 10 <= rough:
        magnitude *= 10
    step = next(n * magnitude for n in (1, 2, 5, 10) if n * magnitude >= rough)
    y_max = max(step, -(-int(top) // step) * step)
    if y_max < top:
        y_max += step
    return y_max, list(range(0, y_max + 1, step))


def text_px(text: str) -> float:
    """About how wide ``text`` is drawn at ``FONT_PX`` (CJK characters are square, Latin
    letters and digits about 0.6 of that): enough to space labels and a legend."""
    return sum(FONT_PX if ord(c) >= 0x2E80 else FONT_PX * 0.6 for c in text)


def label_spacing(labels: Sequence[str], max_labels: int | None = None) -> int:
    """Show every n-th non-blank label so that they fit side by side on the narrowest plot."""
    widest = max((text_px(label) for label in labels if label), default=0.0)
    fit = max(1, int(NARROWEST_PLOT_PX // (widest + _LABEL_GAP_PX)))
    if max_labels is not None:
        fit = min(fit, max(1, max_labels))
    needed = -(-sum(1 for label in labels if label) // fit)
    return next((n for n in _NICE_SPACINGS if n >= needed), max(1, needed))


def _pct(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


class _Plot:
    """The vertical geometry shared by both charts."""

    def __init__(self, y_max: int, legend: bool) -> None:
        self.y_max = y_max
        self.top = _TOP
        self.bottom = HEIGHT - _X_LABELS - (_LEGEND if legend else 0)

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def y(self, value: float) -> float:
        return self.bottom - self.height * value / self.y_max


def _points(plot: _Plot, tips: Sequence[str], bars: Sequence[str] = ()) -> list[str]:
    """A hover and focus target per slot, the full height of the plot, with its value."""
    n = max(1, len(tips))
    out = []
    for i, tip in enumerate(tips):
        out.append(
            f'<g class="point" tabindex="{0 if i == 0 else -1}"><title>{escape(tip)}</title>'
            f'<rect class="hit" x="{_pct(100 * i / n)}" y="{plot.top}" '
            f'width="{_pct(100 / n)}" height="{plot.height:.1f}"/>'
            f"{bars[i] if bars else ''}</g>"
        )
    return out


def _x_labels(plot: _Plot, labels: Sequence[str], every: int) -> list[str]:
    """Every ``every``-th non-empty label, centred under its slot; one too near the right end
    to be centred (on the narrowest plot) ends there instead."""
    n = max(1, len(labels))
    out: list[str] = []
    shown = 0
    for i, label in enumerate(labels):
        if not label:
            continue
        if shown % every == 0:
            x = 100 * (i + 0.5) / n
            anchor = "middle"
            if x + 100 * text_px(label) / 2 / NARROWEST_PLOT_PX > 100:
                x, anchor = 100, "end"
            out.append(
                f'<text class="axis" x="{_pct(x)}" y="{plot.bottom + 16}" '
                f'text-anchor="{anchor}">{escape(label)}</text>'
            )
        shown += 1
    return out


def _legend(items: Sequence[LegendItem]) -> list[str]:
    """One row under the x labels, left to right."""
    out = ['<g class="legend">']
    x = 0.0
    y = HEIGHT - 8
    for item in items:
        if item.swatch == "cap":
            out.append(
                f'<line class="cap" x1="{x:.1f}" y1="{y - 4}" x2="{x + _SWATCH_PX:.1f}" '
                f'y2="{y - 4}"/>'
            )
        else:
            out.append(
                f'<rect class="{escape(item.swatch)}" x="{x:.1f}" y="{y - 9}" '
                f'width="{_SWATCH_PX}" height="10"/>'
            )
        out.append(f'<text class="axis" x="{x + _SWATCH_PX + 5:.1f}" y="{y}">')
        out.append(f"{escape(item.label)}</text>")
        x += _SWATCH_PX + 5 + text_px(item.label) + 16
    out.append("</g>")
    return out


def _chart(
    *,
    title: str,
    y_title: str,
    plot: _Plot,
    ticks: Sequence[int],
    body: Sequence[str],
    legend: Sequence[LegendItem],
) -> str:
    parts = [
        f'<svg class="chart" width="100%" height="{HEIGHT}" font-size="{FONT_PX}" '
        f'role="group" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="axis-title" x="0" y="{FONT_PX + 2}">{escape(y_title)}</text>',
        f'<text class="readout" x="100%" y="{FONT_PX + 2}" text-anchor="end" '
        'aria-hidden="true"></text>',
    ]
    for tick in ticks:
        parts.append(
            f'<text class="axis" x="{_GUTTER - 6}" y="{plot.y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    # The plot: the chart less the gutter and a margin (calc() in a geometry attribute).
    parts.append(
        f'<svg class="plot" x="{_GUTTER}" y="0" width="calc(100% - {_GUTTER + _RIGHT}px)" '
        f'height="{HEIGHT}" overflow="visible">'
    )
    for tick in ticks:
        y = plot.y(tick)
        parts.append(f'<line class="grid" x1="0" y1="{y:.1f}" x2="100%" y2="{y:.1f}"/>')
    parts.extend(body)
    parts.append("</svg>")
    if legend:
        parts.extend(_legend(legend))
    parts.append("</svg>")
    return "".join(parts)


def _check_lengths(**series: Sequence[object]) -> None:
    lengths = {len(s) for s in series.values()}
    if len(lengths) > 1:
        raise ValueError(f"{', '.join(series)} must have the same length")


def step_chart(
    *,
    title: str,
    y_title: str,
    values: Sequence[int],
    peaks: Sequence[int],
    labels: Sequence[str],
    tips: Sequence[str],
    capacity: int | None = None,
    legend: Sequence[LegendItem] = (),
    max_labels: int | None = None,
) -> str:
    """Occupancy as a filled step line, the bucket peaks as a faint band above it, and the
    capacity as a dashed line. ``labels`` may be blank where no label is wanted."""
    _check_lengths(values=values, peaks=peaks, labels=labels, tips=tips)
    y_max, ticks = y_scale(max([*peaks, *values, capacity or 0, 1]))
    plot = _Plot(y_max, bool(legend))
    n = max(1, len(values))

    def outline(series: Sequence[int]) -> str:
        points = [f"0,{plot.y(0):.1f}"]
        for i, v in enumerate(series):
            points.append(f"{i},{plot.y(v):.1f} {i + 1},{plot.y(v):.1f}")
        points.append(f"{n},{plot.y(0):.1f}")
        return " ".join(points)

    body = []
    if values:
        # Stretched sideways to the plot's width; strokes keep their width.
        body.append(
            f'<svg class="series" width="100%" height="{HEIGHT}" viewBox="0 0 {n} {HEIGHT}" '
            'preserveAspectRatio="none">'
            f'<polygon class="peak" points="{outline(peaks)}"/>'
            f'<polygon class="area" points="{outline(values)}" '
            'vector-effect="non-scaling-stroke"/></svg>'
        )
    if capacity:
        cy = plot.y(capacity)
        body.append(f'<line class="cap" x1="0" y1="{cy:.1f}" x2="100%" y2="{cy:.1f}"/>')
    body.extend(_points(plot, tips))
    body.extend(_x_labels(plot, labels, label_spacing(labels, max_labels)))
    return _chart(title=title, y_title=y_title, plot=plot, ticks=ticks, body=body, legend=legend)


def bar_chart(
    *,
    title: str,
    y_title: str,
    values: Sequence[int],
    labels: Sequence[str],
    tips: Sequence[str],
    legend: Sequence[LegendItem] = (),
    max_labels: int | None = None,
) -> str:
    """One bar per value."""
    _check_lengths(values=values, labels=labels, tips=tips)
    y_max, ticks = y_scale(max([*values, 1]))
    plot = _Plot(y_max, bool(legend))
    n = max(1, len(values))
    bars = []
    for i, value in enumerate(values):
        h = plot.height * value / y_max
        bars.append(
            f'<rect class="col" x="{_pct(100 * (i + 0.15) / n)}" y="{plot.bottom - h:.1f}" '
            f'width="{_pct(70 / n)}" height="{h:.1f}"/>'
        )
    body = _points(plot, tips, bars)
    body.extend(_x_labels(plot, labels, label_spacing(labels, max_labels)))
    return _chart(title=title, y_title=y_title, plot=plot, ticks=ticks, body=body, legend=legend)
