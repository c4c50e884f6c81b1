"""Every page in Chromium under its real Content-Security-Policy: nothing is blocked (no inline
script or style left), and what moved to /static still works (the rider's code, the fill bars,
the print button)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlmodel import Session

from server.stations.models import Station
from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness, unique_station_id

# Playwright adds this before any page script (over CDP: the page's policy does not apply).
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@pytest.fixture
def watched(browser: Browser, server: ServerHarness) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(locale="zh-CN", base_url=str(server.client.base_url))
    page = context.new_page()
    page.add_init_script(WATCH_VIOLATIONS)
    console: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console.append(message.text)

    page.on("console", note)
    yield page, console
    context.close()


def _assert_nothing_blocked(page: Page, console: list[str]) -> None:
    assert page.evaluate("window.__violations") == []
    assert [text for text in console if "Content Security Policy" in text] == []


def test_staff_pages_and_the_rider_pass_run_under_the_policy(
    server: ServerHarness, watched: tuple[Page, list[str]]
) -> None:
    page, console = watched
    station_id = unique_station_id()
    server.add_station(station_id, capacity=4, latitude=22.54, longitude=114.05)
    with Session(server.services.engine) as session:  # online: its row has a fill bar
        station = session.get_one(Station, station_id)
        station.online = True
        session.add(station)
        session.commit()
    _, link = server.enrol()

    page.goto("/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_contain_text("admin")
    _assert_nothing_blocked(page, console)
    bar = page.locator(f'tr[data-station="{station_id}"] .bar > span')
    expect(bar).to_have_attribute("style", re.compile(r"width: 0%"))  # painted by staff.js

    for path in (f"/stations/{station_id}", "/reports", "/map", "/riders"):  # riders: below
        page.goto(path)
        expect(page.locator("main h1").first).to_be_visible()
        if path == "/map":  # Leaflet and the markers drawn, nothing blocked
            expect(page.locator(f'.station-marker[data-station="{station_id}"]')).to_be_visible()
        _assert_nothing_blocked(page, console)

    page.get_by_role("button", name="登记").click()
    expect(page.locator("#new-link")).to_be_visible()
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.locator("#new-link button[data-print]").click()
    assert page.evaluate("window.printed") == 1
    _assert_nothing_blocked(page, console)

    page.goto(link)
    expect(page.locator("#qr svg")).to_be_visible()  # rider.js fetched and drew the code
    expect(page.locator("#left")).to_have_text(re.compile(r"剩余 \d+ 秒"))
    _assert_nothing_blocked(page, console)

    page.goto("/find")  # the finder: its scripts, its icons and the offline worker
    expect(page.locator(f'li[data-station="{station_id}"]')).to_be_visible()
    # A function, not a bare expression: Playwright evals the text again at every later poll
    # (a function only once, at the first), and the policy rightly refuses eval in the page.
    page.wait_for_function("async () => (await navigator.serviceWorker.ready).active !== null")
    # The worker takes the open page when it activates (clients.claim), but not a page whose
    # navigation was already on its way then (seen once in three runs: active, page not
    # controlled): that page's next visit is the worker's, as a rider's next visit would be.
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    _assert_nothing_blocked(page, console)
