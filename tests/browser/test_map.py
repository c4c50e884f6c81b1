"""The staff map in Chromium with no tile server (the demo's and the tests' case): markers
for every station with coordinates, coloured and signed by state, on a grid with a scale bar;
a click or Enter opens the station's card; markers follow the live feed; nothing breaks the
Content-Security-Policy. And the map module on its own, as a rider's page would use it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect
from sqlmodel import Session

import i18n
from server.reports.station_state import Badge
from server.stations.models import Station
from server.web.security_headers import PAGE_POLICY
from tests.browser.conftest import (
    VIEWPORTS,
    PlantedServer,
    planted,
    save_screenshot,
    sideways_overflow,
    staff_page,
)
from tests.browser.test_content_policy import WATCH_VIOLATIONS

LANGUAGES = ("zh", "en")


def word(language: str, key: str, **values: object) -> str:
    return i18n.text(f"page.{key}", language, **values)


def _open_map(page: Page) -> None:
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto("/map")
    expect(page.locator("#station-map[data-ready]")).to_be_attached()


def _marker(page: Page, station_id: str) -> Locator:
    return page.locator(f'.station-marker[data-station="{station_id}"]')


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_markers_drawn_without_a_tile_server_and_their_cards(
    browser: Browser, planted_server: PlantedServer, viewport: str, language: str
) -> None:
    planted_stations = planted_server.planted
    placed = [p for p in planted_stations if p.latitude is not None]
    with staff_page(browser, planted_server.harness, viewport, language) as page:
        _open_map(page)
        expect(page.locator(".station-marker")).to_have_count(len(placed))
        expect(page.locator("#map-unplaced")).to_have_text(
            word(language, "map_unplaced", n=len(planted_stations) - len(placed))
        )
        expect(page.locator("#map-grid-note")).to_have_text(word(language, "map_grid"))
        expect(page.locator(".grid-label").first).to_be_visible()  # the graticule is drawn
        expect(page.locator(".leaflet-control-scale-line")).to_be_visible()
        expect(page.locator(".leaflet-tile")).to_have_count(0)  # nothing fetched from outside
        for p in placed[:9]:
            marker = _marker(page, p.id)
            expect(marker).to_have_attribute("data-state", p.badge.value)
            name = f"{p.name} · {word(language, f'badge_{p.badge.value}')}"
            expect(marker).to_have_attribute("aria-label", name)
            expect(marker.locator(".station-pin")).to_have_class(
                re.compile(f"state-{p.badge.value}")
            )
        legend = page.locator(".map-legend .legend-word")  # the states on the map
        expect(legend).to_have_text(
            [word(language, f"badge_{b}") for b in Badge if b in {p.badge for p in placed}]
        )

        full = next(p for p in placed if p.kind == "full")
        # As a person would on a crowded map: zoom in on the station, then click its marker.
        page.evaluate(
            "([lat, lon]) => stationMap.map.setView([lat, lon], 16, { animate: false })",
            [full.latitude, full.longitude],
        )
        _marker(page, full.id).click()
        popup = page.locator(".leaflet-popup .station-card")
        expect(popup.locator(".station-card-name")).to_have_text(full.name)
        expect(popup.locator(".badge")).to_have_text(word(language, "badge_full"))
        expect(popup.locator(".free")).to_have_text(
            word(language, "free_places", free=0, capacity=full.facts.capacity)
        )
        expect(popup.get_by_role("link", name=word(language, "open_station"))).to_have_attribute(
            "href", f"/stations/{full.id}"
        )
        offline = next(p for p in placed if p.kind == "offline")
        page.keyboard.press("Escape")  # closes the card
        expect(page.locator(".leaflet-popup")).to_have_count(0)
        _marker(page, offline.id).focus()  # a marker is a button: Enter opens its card
        page.keyboard.press("Enter")
        expect(popup.locator(".station-card-name")).to_have_text(offline.name)
        expect(popup.locator(".unknown")).to_have_text("—")  # no made-up count
        expect(popup.locator("dd").nth(1)).to_have_text("—")  # nor a door
        assert page.evaluate("window.__violations") == []
        assert sideways_overflow(page) <= 0
        save_screenshot(page, f"map-{len(planted_stations)}-{viewport}-{language}")


def test_markers_follow_the_live_feed(browser: Browser, tmp_path: Path) -> None:
    with planted(tmp_path / "server", 8) as running, staff_page(browser, running.harness) as page:
        _open_map(page)
        expect(page.locator("#live")).to_have_text("实时")
        open_one = next(p for p in running.planted if p.kind == "open")
        marker = _marker(page, open_one.id)
        expect(marker).to_have_attribute("data-state", "open")
        with Session(running.harness.services.engine) as session:
            station = session.get(Station, open_one.id)
            assert station is not None
            station.lockdown = True
            session.add(station)
            session.commit()
        expect(marker).to_have_attribute("data-state", "lockdown")
        expect(marker).to_have_attribute("aria-label", f"{open_one.name} · 封闭中")
        expect(page.locator("#announce")).to_have_text(f"{open_one.name}：封闭中")
        save_screenshot(page, "map-live")


FINDER_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/station_map.css">
<script src="/static/vendor/leaflet/leaflet.js" defer></script>
<script type="module" src="/finder.js"></script></head>
<body><div id="finder" class="station-map"></div></body></html>"""
FINDER_SCRIPT = """import { createStationMap } from "/static/station_map.js";
const markers = JSON.parse(%s);
const stations = createStationMap(document.getElementById("finder"), {
  words: { badge_open: "开放中", badge_full: "已满", free_places: "空位 {free} / {capacity}" },
  domMarkersUpTo: %d,
});
stations.setMarkers(markers);
window.stations = stations;
document.body.dataset.ready = "1";
"""


@pytest.fixture
def finder_origin(browser: Browser, tmp_path: Path) -> Iterator[tuple[Page, str]]:
    with planted(tmp_path / "server", 8) as running, staff_page(browser, running.harness) as page:
        yield page, str(running.harness.client.base_url)


@pytest.mark.parametrize("drawn", ["elements", "canvas"])
def test_the_module_alone_draws_plain_markers_without_staff_data(
    finder_origin: tuple[Page, str], drawn: str
) -> None:
    """What a rider's "find a station" page would do: plain markers, no login, no staff
    fields, under the pages' policy; past the element limit they are drawn on a canvas."""
    page, origin = finder_origin
    markers = [
        {"id": f"s{i}", "name": f"驿站 {i}", "lat": 22.5 + i / 100, "lon": 114 + i / 100,
         "state": "full" if i == 0 else "open", "free": 0 if i == 0 else 3, "capacity": 6}
        for i in range(30)
    ]  # fmt: skip
    script = FINDER_SCRIPT % (json.dumps(json.dumps(markers)), 100 if drawn == "elements" else 10)

    def serve(route: Route, body: str, kind: str) -> None:
        route.fulfill(
            status=200,
            body=body,
            headers={"Content-Type": kind, "Content-Security-Policy": PAGE_POLICY},
        )

    page.route(f"{origin}/finder", lambda r: serve(r, FINDER_PAGE, "text/html"))
    page.route(f"{origin}/finder.js", lambda r: serve(r, script, "text/javascript"))
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto(f"{origin}/finder")
    expect(page.locator("body[data-ready]")).to_be_attached()
    if drawn == "elements":
        expect(page.locator(".station-marker")).to_have_count(30)
        page.locator('.station-marker[data-station="s0"]').click()
    else:
        expect(page.locator(".station-marker")).to_have_count(0)
        expect(page.locator(".leaflet-overlay-pane canvas")).to_be_visible()
        point = page.evaluate(
            "(() => { const p = stations.map.latLngToContainerPoint([22.5, 114]);"
            " const box = document.getElementById('finder').getBoundingClientRect();"
            " return [box.left + p.x, box.top + p.y]; })()"
        )
        page.mouse.click(point[0], point[1])
    card = page.locator(".leaflet-popup .station-card")
    expect(card.locator(".station-card-name")).to_have_text("驿站 0")
    expect(card.locator(".badge")).to_have_text("已满")
    expect(card.locator(".free")).to_have_text("空位 0 / 6")
    expect(card.locator("a, dl")).to_have_count(0)  # nothing of the staff's card
    expect(page.locator(".map-legend .legend-word")).to_have_text(["开放中", "已满"])
    assert page.evaluate("window.__violations") == []
    save_screenshot(page, f"map-module-{drawn}")
