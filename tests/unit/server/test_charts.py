"""The SVG charts, read back as XML: drawn in pixels (no viewBox to shrink the text), escaped,
a y-axis title, a legend, a value per point that the keyboard can reach, x labels that fit
the narrowest plot."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from server.web.charts import (
    FONT_PX,
    HEIGHT,
    NARROWEST_PLOT_PX,
    LegendItem,
    bar_chart,
    label_spacing,
    step_chart,
    text_px,
    y_scale,
)

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output)


def _texts(root: ET.Element, cls: str) -> list[str]:
    return [e.text or "" for e in root.iter(f"{{{NS['svg']}}}text") if e.get("class") == cls]


def _points(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{{{NS['svg']}}}g") if g.get("class") == "point"]


def _bars(values: list[int], labels: list[str] | None = None, **kwargs: object) -> ET.Element:
    labels = labels if labels is not None else [f"{i:02d}" for i in range(len(values))]
    svg = bar_chart(
        title="到访<人次>",
        y_title="人次",
        values=values,
        labels=labels,
        tips=[f"{label}：{v} 人次" for label, v in zip(labels, values, strict=True)],
        **kwargs,  # type: ignore[arg-type]
    )
    return _parse(svg)


def test_drawn_in_pixels_so_text_never_shrinks() -> None:
    root = _bars([1, 7, 0])
    assert root.get("viewBox") is None
    assert (root.get("width"), root.get("height")) == ("100%", str(HEIGHT))
    assert root.get("font-size") == str(FONT_PX)
    plot = root.find("svg:svg[@class='plot']", NS)
    assert plot is not None
    assert plot.get("viewBox") is None
    assert plot.get("width") == "calc(100% - 56px)"  # the gutter for the y numbers
    for text in root.iter(f"{{{NS['svg']}}}text"):
        assert text.get("transform") is None
        assert text.get("font-size") is None  # the chart's size, which staff.css repeats


def test_escaped_title_and_y_axis_title() -> None:
    root = _bars([1, 2], labels=["a&b", "<c>"])
    assert root.get("aria-label") == "到访<人次>"
    title = root.find("svg:title", NS)
    assert title is not None
    assert title.text == "到访<人次>"
    assert _texts(root, "axis-title") == ["人次"]
    assert "a&b" in _texts(root, "axis")


def test_every_bar_has_its_value_on_hover_and_one_tab_stop() -> None:
    values = [1, 7, 0, 3]
    root = _bars(values)
    points = _points(root)
    assert len(points) == len(values)
    assert [p.findtext("svg:title", namespaces=NS) for p in points] == [
        "00：1 人次",
        "01：7 人次",
        "02：0 人次",
        "03：3 人次",
    ]
    assert [p.get("tabindex") for p in points] == ["0", "-1", "-1", "-1"]
    heights = [
        float(p.find("svg:rect[@class='col']", NS).get("height", "nan"))  # type: ignore[union-attr]
        for p in points
    ]
    assert heights[2] == 0
    assert heights[1] == pytest.approx(7 * heights[0], abs=0.5)  # drawn to 0.1 px
    for point in points:  # the whole column answers the pointer, a zero bar too
        hit = point.find("svg:rect[@class='hit']", NS)
        assert hit is not None
        assert hit.get("width", "").endswith("%")


def test_y_axis_ticks_are_whole_and_reach_the_top() -> None:
    root = _bars([1, 7, 0])
    assert _texts(root, "axis")[:3] == ["0", "2", "4"]  # then 6, 8; then the x labels
    assert "8" in _texts(root, "axis")


@pytest.mark.parametrize(
    ("top", "scale"),
    [
        (0, (1, [0, 1])),
        (1, (1, [0, 1])),
        (5, (6, [0, 2, 4, 6])),
        (7, (8, [0, 2, 4, 6, 8])),
        (10, (10, [0, 5, 10])),
        (120, (150, [0, 50, 100, 150])),
    ],
)
def test_y_scale(top: int, scale: tuple[int, list[int]]) -> None:
    assert y_scale(top) == scale


def test_y_scale_everywhere() -> None:
    for top in range(0, 3000, 7):
        y_max, ticks = y_scale(top)
        assert y_max >= top
        assert ticks[0] == 0
        assert ticks[-1] == y_max
        assert 2 <= len(ticks) <= 5
        step = ticks[1]
        assert str(step).strip("0") in {"1", "2", "5"}


@pytest.mark.parametrize(
    ("labels", "every"),
    [
        ([f"{h:02d}" for h in range(24)], 3),  # hours: 00, 03, ... 21
        ([f"11-{d:02d}" for d in range(1, 15)], 3),  # two weeks of days
        # 24 hours in 5-minute buckets, a label on each hour: every 6th hour
        ([f"{i // 12:02d}:00" if i % 12 == 0 else "" for i in range(288)], 6),
    ],
)
def test_x_labels_fit_the_narrowest_plot(labels: list[str], every: int) -> None:
    assert label_spacing(labels) == every
    shown = -(-sum(1 for label in labels if label) // every)
    widest = max(text_px(label) for label in labels)
    assert shown * widest < NARROWEST_PLOT_PX


def test_long_ranges_thin_out_their_labels() -> None:
    days = [f"d{i:03d}" for i in range(366)]
    every = label_spacing(days)
    root = _bars(list(range(366)), labels=days)
    xs = _texts(root, "axis")
    shown = [x for x in xs if x.startswith("d")]
    assert len(shown) == -(-366 // every)
    assert len(shown) * (text_px("d000") + 14) <= NARROWEST_PLOT_PX + every * 20


def test_step_chart_legend_capacity_and_tips() -> None:
    svg = step_chart(
        title="最近 24 小时在站人数",
        y_title="在站人数",
        values=[0, 3, 2],
        peaks=[1, 4, 2],
        labels=["08:00", "", ""],
        tips=["a", "b", "c"],
        capacity=6,
        legend=[LegendItem("在站人数", "area"), LegendItem("容量 6 人", "cap")],
    )
    root = _parse(svg)
    series = root.find(".//svg:svg[@class='series']", NS)
    assert series is not None
    assert series.get("viewBox") == f"0 0 3 {HEIGHT}"
    assert series.get("preserveAspectRatio") == "none"
    assert not list(series.iter(f"{{{NS['svg']}}}text"))  # nothing stretched is text
    caps = [e for e in root.iter(f"{{{NS['svg']}}}line") if e.get("class") == "cap"]
    assert len(caps) == 2  # the line across the plot and its sample in the legend
    assert "6" in _texts(root, "axis")  # the axis reaches the capacity
    legend = root.find("svg:g[@class='legend']", NS)
    assert legend is not None
    assert [t.text for t in legend.iter(f"{{{NS['svg']}}}text")] == ["在站人数", "容量 6 人"]
    assert [p.findtext("svg:title", namespaces=NS) for p in _points(root)] == ["a", "b", "c"]


def test_an_empty_series_still_draws_its_frame() -> None:
    root = _parse(
        step_chart(title="t", y_title="y", values=[], peaks=[], labels=[], tips=[], capacity=4)
    )
    assert _points(root) == []
    assert "4" in _texts(root, "axis")


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="same length"):
        bar_chart(title="t", y_title="y", values=[1], labels=[], tips=[])
    with pytest.raises(ValueError, match="same length"):
        step_chart(title="t", y_title="y", values=[1], peaks=[1], labels=["a"], tips=[])
