"""The reports page and the charts in Chromium, against the real server: a bad range keeps
what was typed and says why beside the dates, in the page's language; the quick ranges; chart
text readable (at least 11 px as drawn) on a tablet held upright and on a phone, reachable by
keyboard and pointer."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from server.core.localtime import LOCAL_TZ
from server.events.models import EventRecord
from tests.browser.conftest import overview_took, save_screenshot
from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness, unique_station_id

TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}
MIN_TEXT_PX = 11


def _staff_page(browser: Browser, server: ServerHarness, viewport: dict[str, int]) -> Page:
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        locale="zh-CN",
        base_url=str(server.client.base_url),
    )
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_contain_text("admin")
    return page


@pytest.fixture
def desk(browser: Browser, server: ServerHarness) -> Iterator[Page]:
    page = _staff_page(browser, server, {"width": 1180, "height": 820})
    yield page
    page.context.close()


def _entries(server: ServerHarness, station_id: str, count: int) -> None:
    """Entries at noon yesterday and the days before (station time)."""
    noon = datetime.now(LOCAL_TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    noon -= timedelta(days=1)
    with Session(server.services.engine) as session:
        for i in range(count):
            at = (noon - timedelta(days=i % 5, hours=i % 7)).astimezone(UTC)
            session.add(
                EventRecord(
                    event_id=uuid.uuid4().hex,
                    station_id=station_id,
                    epoch="e1",
                    seq=i + 1,
                    kind="door_opened",
                    passage="entry",
                    rider_id=f"r-{i % 4}",
                    occurred_at=at,
                    received_at=at,
                    applied=True,
                )
            )
        session.commit()


def test_a_bad_range_keeps_the_dates_and_says_why(server: ServerHarness, desk: Page) -> None:
    desk.goto("/reports")
    desk.locator("input[name=since]").fill("2026-11-05")
    desk.locator("input[name=until]").fill("2026-11-01")
    desk.get_by_role("button", name="查看").click()

    problem = desk.locator("#report-problem")
    expect(problem).to_have_text("开始日期不能晚于结束日期")
    expect(desk.locator("input[name=since]")).to_have_value("2026-11-05")  # as typed
    expect(desk.locator("input[name=until]")).to_have_value("2026-11-01")
    for name in ("since", "until"):
        field = desk.locator(f"input[name={name}]")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", "report-problem")
    # Beside the dates, in the form: not above a report of other days.
    assert desk.locator("#report-form #report-problem").count() == 1
    expect(desk.locator("svg.chart")).to_have_count(0)
    expect(desk.locator("#daily")).to_have_count(0)
    assert "'since'" not in desk.locator("main").inner_text()
    save_screenshot(desk, "reports-bad-range")

    desk.goto("/reports?since=2020-01-01&until=2026-01-01")
    expect(problem).to_have_text("报表最多覆盖 366 天，请缩短日期范围")
    desk.goto("/reports?station_id=st-nowhere")
    expect(problem).to_have_text("没有编号为 st-nowhere 的站点")
    expect(desk.locator("select[name=station_id]")).to_have_attribute("aria-invalid", "true")
    expect(desk.locator("input[name=since]")).not_to_have_attribute("aria-invalid", "true")

    desk.goto("/reports?since=2026-11-05&until=2026-11-01&lang=en")
    expect(problem).to_have_text("'since' must not be after 'until'")
    expect(desk.get_by_label("Start date")).to_have_value("2026-11-05")

    desk.goto("/reports?lang=zh")  # a good range again: the figures are back
    expect(problem).to_have_count(0)
    expect(desk.locator("svg.chart")).to_have_count(2)


def test_quick_ranges(server: ServerHarness, desk: Page) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    overview_took(desk, station_id)  # the page the login led to
    _entries(server, station_id, 12)
    today = datetime.now(LOCAL_TZ).date()
    desk.goto("/reports")
    presets = desk.locator("#report-presets")
    expect(presets.get_by_role("link")).to_have_text(
        ["今天", "昨天", "最近 7 天", "最近 30 天", "本月"]
    )
    expect(presets.locator("[aria-current]")).to_have_count(0)  # 14 days is not a preset

    desk.locator("select[name=station_id]").select_option(station_id)
    desk.get_by_role("button", name="查看").click()
    presets.get_by_role("link", name="最近 7 天").click()
    week_ago = today - timedelta(days=6)
    expect(desk).to_have_url(
        re.compile(
            rf"since={week_ago.isoformat()}&until={today.isoformat()}&station_id={station_id}$"
        )
    )
    expect(desk.locator("input[name=since]")).to_have_value(week_ago.isoformat())
    expect(desk.locator("input[name=until]")).to_have_value(today.isoformat())
    expect(presets.get_by_role("link", name="最近 7 天")).to_have_attribute("aria-current", "true")
    expect(desk.locator("select[name=station_id]")).to_have_value(station_id)  # kept
    expect(desk.locator("#total-visits")).to_have_text("12")  # all within the last five days

    presets.get_by_role("link", name="昨天").click()
    yesterday = (today - timedelta(days=1)).isoformat()
    expect(desk.locator("input[name=since]")).to_have_value(yesterday)
    expect(desk.locator("input[name=until]")).to_have_value(yesterday)
    # Noon yesterday less 0..6 hours, for the entries of the first of every five days.
    expect(desk.locator("#total-visits")).to_have_text("3")
    presets.get_by_role("link", name="今天").click()
    expect(desk.locator("#total-visits")).to_have_text("0")
    presets.get_by_role("link", name="本月").click()
    expect(desk.locator("input[name=since]")).to_have_value(today.replace(day=1).isoformat())
    expect(presets.get_by_role("link", name="本月")).to_have_attribute("aria-current", "true")


# Every text of every chart: the size it is drawn at, on screen, and its box.
_CHART_TEXTS = """
() => [...document.querySelectorAll("svg.chart text")]
  .filter((el) => el.textContent.trim() && el.getBBox().width > 0)
  .map((el) => {
    const box = el.getBoundingClientRect();
    const chart = el.closest("svg.chart").getBoundingClientRect();
    return {
      text: el.textContent,
      cls: el.getAttribute("class"),
      px: parseFloat(getComputedStyle(el).fontSize) * el.getScreenCTM().a,
      left: box.left, right: box.right, top: box.top,
      inside: box.left >= chart.left - 0.5 && box.right <= chart.right + 0.5,
    };
  })
"""


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_chart_text_is_readable(
    browser: Browser, server: ServerHarness, viewport: dict[str, int]
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, capacity=6)
    _entries(server, station_id, 12)
    page = _staff_page(browser, server, viewport)
    try:
        for path in (f"/reports?station_id={station_id}", f"/stations/{station_id}"):
            page.goto(path)
            expect(page.locator("svg.chart")).to_have_count(2)
            texts = page.evaluate(_CHART_TEXTS)
            assert texts, path
            small = [t for t in texts if t["px"] < MIN_TEXT_PX]
            assert not small, f"{path} at {viewport}: text under {MIN_TEXT_PX} px: {small[:3]}"
            outside = [t for t in texts if not t["inside"]]
            assert not outside, f"{path}: text drawn outside its chart: {outside}"
            # The x labels of one chart do not run into each other.
            rows: dict[float, list[dict[str, float]]] = {}
            for t in texts:
                if t["cls"] == "axis" and not str(t["text"]).isdigit():
                    rows.setdefault(round(t["top"]), []).append(t)
            for row in rows.values():
                row.sort(key=lambda t: t["left"])
                for a, b in itertools.pairwise(row):
                    assert a["right"] < b["left"], f"{path}: {a['text']} overlaps {b['text']}"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        expect(page.locator("svg.chart .axis-title").first).to_have_text("在站人数")
        legend = page.locator("svg.chart .legend").first
        expect(legend).to_contain_text("容量 6 人")
        save_screenshot(page, f"station-charts-{viewport['width']}")
    finally:
        page.context.close()


def test_chart_values_on_hover_and_by_keyboard(server: ServerHarness, desk: Page) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    overview_took(desk, station_id)  # the page the login led to
    _entries(server, station_id, 12)
    desk.goto(f"/reports?station_id={station_id}")
    chart = desk.locator("svg.chart").nth(1)  # visits by hour of the day
    points = chart.locator(".point")
    expect(points).to_have_count(24)
    expect(points.nth(12).locator("title")).to_have_text(re.compile(r"^12 时：\d+ 人次$"))
    readout = chart.locator(".readout")

    points.nth(12).hover()
    expect(readout).to_have_text(points.nth(12).locator("title").text_content() or "?")

    first = points.first
    first.focus()
    expect(readout).to_have_text("00 时：0 人次")
    desk.keyboard.press("ArrowRight")
    expect(points.nth(1)).to_be_focused()
    expect(points.nth(1)).to_have_attribute("tabindex", "0")  # one tab stop, where focus is
    expect(first).to_have_attribute("tabindex", "-1")
    desk.keyboard.press("End")
    expect(points.nth(23)).to_be_focused()
    expect(readout).to_have_text("23 时：0 人次")
    desk.keyboard.press("ArrowRight")  # stays on the last
    expect(points.nth(23)).to_be_focused()
    desk.keyboard.press("Home")
    expect(first).to_be_focused()
