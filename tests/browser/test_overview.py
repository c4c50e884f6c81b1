"""The overview in Chromium at a desk, a tablet and a phone, in Chinese and English, with 8 and
508 stations in every state: problems first, tiles that filter, stations that cannot be seen
greyed with their last report and no made-up door or count, no sideways scrolling, sorting by
keyboard, and a station going offline sorted up and announced live."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

import i18n
from server.reports.station_state import UNSEEN, Badge
from server.stations.models import Station
from tests.browser.conftest import (
    VIEWPORTS,
    PlantedServer,
    save_screenshot,
    sideways_overflow,
    staff_page,
)
from tests.browser.conftest import (
    planted as planted_fleet,
)
from tests.support.stack import ServerHarness
from tests.support.station_states import Planted, problems_first

PAGE_ROWS = 200
COMPARE_AFTER_MS = 6_000  # staff.js: a recount is compared with this page's rows this late
# How many lines an element's text takes.
LINES = """(element) => {
  const range = document.createRange();
  range.selectNodeContents(element);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""
LANGUAGES = ("zh", "en")


def word(language: str, key: str, **values: object) -> str:
    return i18n.text(f"page.{key}", language, **values)


def _shown_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator("#stations tbody tr[data-station]").evaluate_all(
        "rows => rows.filter((r) => !r.hidden).map((r) => r.dataset.station)"
    )
    return ids


def _reported(language: str, minutes: int) -> re.Pattern[str]:
    # A minute may pass between planting and reading.
    texts = [word(language, "reported_minutes", n=n) for n in (minutes, minutes + 1)]
    return re.compile("|".join(re.escape(text) for text in texts))


def _check_unseen_row(page: Page, station: Planted, language: str) -> None:
    row = page.locator(f'tr[data-station="{station.id}"]')
    expect(row).to_have_class(re.compile(r"\bunseen\b"))
    expect(row.locator(".badges .badge").first).to_have_text(
        word(language, f"badge_{station.badge.value}")
    )
    expect(row.locator("td.door")).to_have_text("—")  # never a made-up lock state
    expect(row.locator(".bar")).to_have_count(0)  # nor a count as if current
    expect(row.locator("td.fill .unknown")).to_have_text("—")
    if station.badge is Badge.OFFLINE:
        assert station.reported_minutes_ago is not None
        expect(row.locator(".ago")).to_have_text(_reported(language, station.reported_minutes_ago))
        expect(row.locator(".reason")).to_have_text(
            word(language, "offline_reason_heartbeat_missed")
        )
        expect(row.locator(".last-known")).to_have_text(
            word(language, "last_known", n=station.facts.occupancy)
        )
    else:
        expect(row.locator(".ago")).to_have_text(word(language, "reported_never"))
        expect(row.locator(".last-known")).to_have_count(0)
    background = row.locator("td.state").evaluate("td => getComputedStyle(td).backgroundColor")
    assert background == "rgb(242, 242, 242)", "an unseen station is greyed"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_problem_stations_come_first_with_their_state_in_words(
    browser: Browser, planted_server: PlantedServer, viewport: str, language: str
) -> None:
    planted = planted_server.planted
    expected = [p.id for p in problems_first(planted)][:PAGE_ROWS]
    by_id = {p.id: p for p in planted}
    with staff_page(browser, planted_server.harness, viewport, language) as page:
        page.goto("/")
        expect(page.locator("#live")).to_have_text(word(language, "live"))
        assert _shown_ids(page) == expected
        for station_id in expected[:40]:  # the problems, and some of the rest on 8 stations
            station = by_id[station_id]
            row = page.locator(f'tr[data-station="{station_id}"]')
            expect(row.locator(".badges .badge").first).to_have_text(
                word(language, f"badge_{station.badge.value}")
            )
            if station.badge in UNSEEN:
                _check_unseen_row(page, station, language)
            else:  # what is seen is current: the door, and the count with its bar
                expect(row.locator("td.door")).to_have_text(word(language, "door_locked"))
                expect(row.locator(".occupancy")).to_have_text(str(station.facts.occupancy))
                bar = expect(row.locator(".bar"))
                if station.facts.occupancy >= station.facts.capacity:
                    bar.to_have_class(re.compile(r"\bfull\b"))
                else:
                    bar.not_to_have_class(re.compile(r"\bfull\b"))
        counts = {"stations": len(planted), "stations_offline": _count(planted, "offline")}
        for key, value in counts.items():
            expect(page.locator(f'#station-counts [data-count="{key}"]')).to_have_text(str(value))
        assert sideways_overflow(page) <= 0, f"the overview scrolls sideways on a {viewport}"
        if viewport != "phone":  # headers read across, never one character a line
            for header in page.locator("#stations th button").all():
                assert header.evaluate(LINES) == 1, f"{header.inner_text()!r} wraps"
        else:  # cards: each field says what it is
            first = page.locator("#stations tbody tr[data-station]").first
            label = first.locator("td.state").evaluate(
                "td => getComputedStyle(td, '::before').content"
            )
            assert label == f'"{word(language, "state")}"'
        save_screenshot(page, f"overview-{len(planted)}-{viewport}-{language}")


def _count(planted: list[Planted], kind: str) -> int:
    if kind == "offline":
        return sum(1 for p in planted if not p.facts.online)
    return sum(1 for p in planted if p.kind == kind)


@pytest.mark.parametrize(("viewport", "language"), [("desktop", "zh"), ("phone", "en")])
def test_tiles_count_and_filter(
    browser: Browser, planted_server: PlantedServer, viewport: str, language: str
) -> None:
    planted = planted_server.planted
    with staff_page(browser, planted_server.harness, viewport, language) as page:
        page.goto("/")
        for state, kind in (("offline", "offline"), ("closed_by_hours", "closed_by_hours")):
            tile = page.locator(f'#station-counts a.tile[data-state="{state}"]')
            wanted = sorted(
                p.id
                for p in planted
                if (not p.facts.online if kind == "offline" else p.kind == kind)
            )
            expect(tile.locator("[data-count]")).to_have_text(str(len(wanted)))
            expect(tile).to_contain_text(word(language, f"state_{state}"))
            tile.click()
            expect(tile).to_have_attribute("aria-current", "true")
            expect(page).to_have_url(re.compile(f"state={state}"))
            expect(page.locator("#shown-count")).to_have_text(
                word(
                    language,
                    "shown",
                    n=len(wanted),
                    total=len(wanted) if len(planted) > PAGE_ROWS else len(planted),
                )
            )
            assert sorted(_shown_ids(page)) == wanted
        page.locator('#station-counts a.tile[data-state="all"]').click()
        expect(page.locator("#stations tbody tr[data-station]:visible")).to_have_count(
            min(len(planted), PAGE_ROWS)
        )
        save_screenshot(page, f"overview-tiles-{len(planted)}-{viewport}-{language}")


def test_sorting_by_keyboard(browser: Browser, planted_server: PlantedServer) -> None:
    shown = min(len(planted_server.planted), PAGE_ROWS)
    with staff_page(browser, planted_server.harness) as page:
        page.goto("/")
        expect(page.locator("#live")).to_have_text(word("zh", "live"))
        page.locator("#station-filter button[type=submit]").focus()
        page.keyboard.press("Tab")  # the next stop is the first column's sort button
        focused = page.evaluate("document.activeElement.dataset.sort")
        assert focused == "name"
        header = page.locator("#stations th").first
        assert header.get_attribute("aria-sort") is None
        page.keyboard.press("Enter")
        expect(header).to_have_attribute("aria-sort", "ascending")
        names = page.locator("#stations tbody tr[data-station]").evaluate_all(
            "rows => rows.map((r) => r.dataset.name)"
        )
        assert names == sorted(names)
        assert len(names) == shown
        page.keyboard.press("Space")
        expect(header).to_have_attribute("aria-sort", "descending")
        backwards = page.locator("#stations tbody tr[data-station]").evaluate_all(
            "rows => rows.map((r) => r.dataset.name)"
        )
        assert backwards == sorted(names, reverse=True)
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")  # state, then occupancy
        page.keyboard.press("Enter")
        expect(page.locator("#stations th").nth(2)).to_have_attribute("aria-sort", "ascending")
        expect(header).not_to_have_attribute("aria-sort", re.compile("."))
        fills = page.locator("#stations tbody tr[data-station]").evaluate_all(
            "rows => rows.map((r) => Number(r.dataset.fill))"
        )
        assert fills == sorted(fills)


def _go_offline(server: ServerHarness, station_id: str) -> None:
    with Session(server.services.engine) as session:
        station = session.get(Station, station_id)
        assert station is not None
        station.online = False
        station.online_changed_at = datetime.now(UTC) - timedelta(minutes=2)
        station.last_heartbeat_at = datetime.now(UTC) - timedelta(minutes=3)
        station.offline_reason = "disconnected"
        session.add(station)
        session.commit()


@pytest.mark.parametrize("count", [8, 508])
def test_a_station_going_offline_is_greyed_sorted_up_and_announced(
    browser: Browser, tmp_path: Path, count: int
) -> None:
    with planted_fleet(tmp_path / "server", count) as running:
        _goes_offline(browser, running.harness, running.planted)


def _goes_offline(browser: Browser, server: ServerHarness, planted: list[Planted]) -> None:
    count = len(planted)
    order = [p.id for p in problems_first(planted)]
    seen = {p.id for p in planted if p.facts.online and not p.facts.alarms}
    leaving = [sid for sid in order[:PAGE_ROWS] if sid in seen][-1]  # the first page's last
    with staff_page(browser, server) as page:
        # The page's own timers run on a clock the test can move on: the comparison of the
        # problems counted on other pages waits 6 s after a recount, which the test skips.
        page.clock.install()
        page.goto("/")
        expect(page.locator("#live")).to_have_text(word("zh", "live"))
        assert _shown_ids(page)[-1] == leaving
        page.evaluate("window.stillTheSamePage = true")
        _go_offline(server, leaving)
        row = page.locator(f'tr[data-station="{leaving}"]')
        expect(row).to_have_class(re.compile(r"\bunseen\b"))
        expect(row.locator(".badges .badge")).to_have_text("离线")
        expect(row.locator(".ago")).to_have_text(_reported("zh", 3))
        expect(row.locator(".reason")).to_have_text("连接中断")
        expect(row.locator("td.door")).to_have_text("—")
        name = next(p.name for p in planted if p.id == leaving)
        expect(page.locator("#announce")).to_contain_text(f"{name}：离线")
        offline_now = sorted(
            [p for p in planted if not p.facts.online and not p.facts.alarms]
            + [p for p in planted if p.id == leaving],
            key=lambda p: p.id,
        )
        alarmed = sum(1 for p in planted if p.facts.alarms)
        position = alarmed + [p.id for p in offline_now].index(leaving)
        assert _shown_ids(page)[position] == leaving  # sorted up among the offline, live
        assert page.evaluate("window.stillTheSamePage") is True
        offline_tile = page.locator('#station-counts [data-count="stations_offline"]')
        expect(offline_tile).to_have_text(str(len(offline_now)), timeout=15_000)
        if count > PAGE_ROWS:  # a station on another page: the counts say so, with a reload
            notice = page.locator("#problems-changed")
            page.clock.fast_forward(COMPARE_AFTER_MS)  # the recount above, compared
            expect(notice).to_have_attribute("data-watching", "1")
            expect(notice).to_be_hidden()  # the change on this page explains itself
            _go_offline(server, order[-1])
            expect(offline_tile).to_have_text(str(len(offline_now) + 1), timeout=15_000)
            page.clock.fast_forward(COMPARE_AFTER_MS)  # that recount, compared
            expect(notice).to_be_visible()
            expect(page.locator("#announce")).to_have_text(notice.inner_text())
            notice.get_by_role("link").click()
            expect(page.locator("#problems-changed")).to_be_hidden()
        save_screenshot(page, f"overview-live-offline-{count}")
