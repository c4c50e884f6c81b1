"""Browser tests: Playwright driving Debian's Chromium, against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from demo.broker import PrivateBroker
from server.broker.accounts import DEFAULT_SERVER_USERNAME, BrokerAccount
from server.broker.accounts import Role as BrokerRole
from server.core.settings import ServerSettings
from server.web.language import LANG_COOKIE
from tests.conftest import (
    ADMIN_PASSWORD,
    LIVE_POLL_S,
    SERVER_BROKER_PASSWORD,
    logged_in_server,
)
from tests.support.stack import ServerHarness
from tests.support.station_states import Planted, plant

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: ./scripts/setup dev installs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A cheap phone's screen: 360x740, touch, zh-CN."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    yield page
    context.close()


def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# -- a server with a planted fleet, shared by a module's tests (issue 14: overview, map) ------
VIEWPORTS = {
    "desktop": {"width": 1440, "height": 900},
    "tablet": {"width": 768, "height": 1024},
    "phone": {"width": 390, "height": 844},
}


@dataclass(frozen=True)
class PlantedServer:
    harness: ServerHarness
    planted: list[Planted]


@contextmanager
def planted(data_dir: Path, count: int, **settings: object) -> Iterator[PlantedServer]:
    """A server (SQLite, a secure broker) holding ``count`` stations in every state. Offline
    stations raise no alarm and no count is reconciled while it runs (either would change
    what the tests look at);
    ``settings`` are more of its ServerSettings."""
    account = BrokerAccount.with_password(
        DEFAULT_SERVER_USERNAME, SERVER_BROKER_PASSWORD, BrokerRole.SERVER
    )
    with PrivateBroker(accounts=[account]) as broker:
        chosen = ServerSettings(
            data_dir=data_dir,
            audience="ws-test",
            admin_password=ADMIN_PASSWORD,
            offline_alarm_after_s=7 * 86_400,
            **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
            **{"live_poll_s": LIVE_POLL_S, **settings},  # type: ignore[arg-type]
        )
        with logged_in_server(chosen, broker, {}) as harness:
            yield PlantedServer(harness, plant(harness.services.engine, count))


@pytest.fixture(scope="module", params=[8, 508], ids=["8-stations", "508-stations"])
def planted_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlantedServer]:
    """8 or 508 stations, shared by the tests of one module that only read."""
    with planted(tmp_path_factory.mktemp("planted") / "server", request.param) as running:
        yield running


@contextmanager
def staff_page(
    browser: Browser, server: ServerHarness, viewport: str = "desktop", language: str = "zh"
) -> Iterator[Page]:
    """A logged-in admin's page at one of VIEWPORTS, in one language (closed before the
    server stops, so its live stream ends)."""
    phone = viewport == "phone"
    context = browser.new_context(
        viewport=VIEWPORTS[viewport],  # type: ignore[arg-type]
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN" if language == "zh" else "en-GB",
        base_url=str(server.client.base_url),
    )
    login = context.request.post(
        "/api/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert login.ok, login.text()
    context.add_cookies(
        [{"name": LANG_COOKIE, "value": language, "url": str(server.client.base_url)}]
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def overview_took(page: Page, station_id: str) -> None:
    """Until the overview this page is on shows a station just added: the overview reloads
    itself for one, and that reload would cut short a navigation started before it."""
    expect(page.locator(f'tr[data-station="{station_id}"]')).to_have_count(1)


def sideways_overflow(page: Page) -> int:
    """How far the page scrolls sideways (0 when it fits the screen)."""
    overflow: int = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    return overflow
