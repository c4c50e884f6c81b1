"""The station finder and the code page's nearby stations, on a phone-sized Chromium (390x844,
zh-CN) against the real server, broker and a simulated station: no login, free places that
follow a real entry without a reload, sorting by distance once the rider taps (the position
never leaves the phone), and both pages opening offline after one visit."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect
from playwright.sync_api import Error as PlaywrightError

from firmware_sim.rider import enter
from tests.browser.conftest import save_screenshot
from tests.browser.test_content_policy import WATCH_VIOLATIONS
from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]
PUBLIC_API = "/api/public/stations"
FINDER_POLL_MS = 5_000  # finder.js
# 杭州 武林广场; the stations below are about 0.55, 2.0 and 8.2 km from it.
RIDER_AT = {"latitude": 30.2741, "longitude": 120.1652}
PLACES = (
    ("西溪驿站", 30.2690, 120.0800, "西湖区文二西路 1 号"),  # 8.2 km west
    ("武林驿站", 30.2790, 120.1650, "拱墅区武林广场 1 号"),  # 550 m north
    ("湖滨驿站", 30.2560, 120.1660, "上城区湖滨路 2 号"),  # 2.0 km south
)


def _no_pause(_: float) -> None:
    return None


@pytest.fixture
def phone_context(
    browser: Browser, server: ServerHarness
) -> Iterator[Callable[..., BrowserContext]]:
    """New 390x844 zh-CN phone contexts on the server (closed at the end)."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            base_url=str(server.client.base_url),
            **options,
        )
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def server_settings() -> dict[str, object]:
    """The public list cached 0.1 s (3 s by default): a poll soon after an entry shows it."""
    return {"public_cache_s": 0.1}


def _add(server: ServerHarness, name: str, lat: float, lon: float, address: str, **kw: Any) -> str:
    station_id = unique_station_id()
    server.add_station(station_id, name=name, latitude=lat, longitude=lon, **kw)
    server.client.patch(
        f"/api/stations/{station_id}/details",
        json={"address": address, "amenities": ["water", "charging", "toilet"], "reason": "开站"},
    ).raise_for_status()
    return station_id


def _names(page: Page) -> list[str]:
    return [
        n.strip()
        for n in page.locator("#stations .name").evaluate_all(
            "nodes => nodes.map(n => n.firstChild.textContent)"
        )
    ]


def _next_poll_shows_free(server: ServerHarness, page: Page, station_id: str, free: int) -> None:
    """Once the server counts ``free`` places at the station, move the page's clock on to its
    next poll rather than wait for it (the server's public list is cached only briefly here,
    see ``server_settings``; a poll that still met the old list is followed by another)."""

    def counted() -> bool:
        station = server.station(station_id)
        return station.capacity - station.occupancy == free

    wait_for(counted, what=f"{free} free places counted")
    page.clock.fast_forward(FINDER_POLL_MS)


def test_finder_without_login_shows_free_places_live(
    server: ServerHarness, make_station: MakeStation, phone_context: Callable[..., BrowserContext]
) -> None:
    ids = [_add(server, name, lat, lon, address, capacity=4) for name, lat, lon, address in PLACES]
    live = make_station(ids[1])
    _, link = server.enrol()
    page = phone_context().new_page()
    page.clock.install()  # the page's poll timer, moved on below rather than waited for
    page.goto("/find")
    expect(page.locator("#stations > li")).to_have_count(3)
    card = page.locator(f'li[data-station="{ids[1]}"]')
    expect(card.locator(".name")).to_contain_text("武林驿站")
    expect(card.locator(".badge")).to_have_text("开放中")
    expect(card.locator(".free")).to_have_text("空位 4 / 4")
    expect(card.locator(".address")).to_have_text("拱墅区武林广场 1 号")
    expect(card.locator(".amenity")).to_have_text(["饮用水", "充电", "卫生间"])
    icon = card.locator('.amenity[data-amenity="water"] svg.icon')
    expect(icon).to_be_visible()  # drawn from the page's sprite
    assert icon.locator("use").get_attribute("href") == "#amenity-water"
    amap = card.locator("a.amap")
    expect(amap).to_have_text("高德地图")
    expect(amap).to_have_attribute(
        "href",
        re.compile(r"^https://uri\.amap\.com/marker\?position=120\.165,30\.279&.*coordinate=wgs84"),
    )
    expect(card.locator("a.baidu")).to_have_attribute(
        "href",
        re.compile(
            r"^https://api\.map\.baidu\.com/marker\?location=30\.279,120\.165&.*coord_type=wgs84"
        ),
    )
    expect(page.locator("#freshness")).to_have_text(re.compile(r"更新于 \d\d:\d\d:\d\d"))
    page.evaluate("window.stillTheSamePage = true")
    save_screenshot(page, "finder-zh")

    shown = enter(live.sim, server.qr_png(link), random.Random(5), _no_pause)
    assert shown is not None
    assert shown.allowed
    _next_poll_shows_free(server, page, ids[1], 3)
    expect(card.locator(".free")).to_have_text("空位 3 / 4", timeout=15_000)
    assert page.evaluate("window.stillTheSamePage") is True  # polled, not reloaded

    page.locator("#lang-switch").click()
    expect(page.locator(f'li[data-station="{ids[1]}"] .free')).to_have_text("3 of 4 places free")
    expect(page.locator("h1")).to_have_text("Find a station")
    save_screenshot(page, "finder-en")


def test_distance_sorting_after_a_tap_and_the_position_stays_on_the_phone(
    server: ServerHarness, phone_context: Callable[..., BrowserContext]
) -> None:
    for name, lat, lon, address in PLACES:
        _add(server, name, lat, lon, address)
    context = phone_context(geolocation=RIDER_AT, permissions=["geolocation"])
    page = context.new_page()
    sent: list[str] = []

    def record(request: Request) -> None:
        sent.append(request.url + (request.post_data or ""))

    page.on("request", record)
    page.clock.install()  # the page's poll timer, moved on below rather than waited for
    page.goto("/find")
    expect(page.locator("#stations > li")).to_have_count(3)
    expect(page.locator("#stations .distance")).to_have_count(0)  # not asked yet
    page.get_by_role("button", name="按距离排序").tap()
    expect(page.locator("#stations .distance")).to_have_count(3)
    assert _names(page) == ["武林驿站", "湖滨驿站", "西溪驿站"]
    expect(page.locator("#stations .distance")).to_have_text(["550 米", "2.0 公里", "8.2 公里"])
    save_screenshot(page, "finder-by-distance")
    with page.expect_request(lambda request: PUBLIC_API in request.url):
        page.clock.fast_forward(FINDER_POLL_MS)  # a poll after the position is known
    assert len(sent) > 2
    assert not [s for s in sent if "30.27" in s or "120.16" in s]


def test_code_page_shows_the_three_nearest_open_stations_with_room(
    server: ServerHarness, phone_context: Callable[..., BrowserContext]
) -> None:
    ids = [_add(server, name, lat, lon, address, capacity=4) for name, lat, lon, address in PLACES]
    full = _add(server, "满员驿站", 30.2745, 120.1655, "拱墅区 1 号", capacity=2)  # nearest
    shut = _add(server, "维修驿站", 30.2742, 120.1653, "拱墅区 2 号")
    server.client.post(
        f"/api/stations/{full}/occupancy", json={"target": 2, "reason": "test"}
    ).raise_for_status()
    server.client.patch(
        f"/api/stations/{shut}/rules", json={"maintenance": True, "reason": "test"}
    ).raise_for_status()
    for station_id, count in ((ids[0], 3), (ids[2], 1)):
        server.client.post(
            f"/api/stations/{station_id}/occupancy", json={"target": count, "reason": "test"}
        ).raise_for_status()
    _, link = server.enrol()

    page = phone_context().new_page()  # no location: by free places
    page.goto(link)
    expect(page.locator("#qr svg")).to_be_visible()
    items = page.locator("#nearby-list > li")
    expect(items).to_have_count(3)
    expect(items.locator(".name")).to_have_text(["武林驿站", "湖滨驿站", "西溪驿站"])
    expect(items.locator(".free")).to_have_text(["空位 4 / 4", "空位 3 / 4", "空位 1 / 4"])
    expect(page.locator("#nearby-all")).to_have_attribute("href", "/find?lang=zh")
    save_screenshot(page, "rider-page-nearby")

    located = phone_context(geolocation=RIDER_AT, permissions=["geolocation"]).new_page()
    located.goto(link)  # allowed before: by distance, without asking again
    items = located.locator("#nearby-list > li")
    expect(items.locator(".distance")).to_have_text(["550 米", "2.0 公里", "8.2 公里"])
    expect(items.locator(".name")).to_have_text(["武林驿站", "湖滨驿站", "西溪驿站"])


def _offline_ready(page: Page, what: str) -> None:
    """The worker controls the page, has finished activating, and has kept ``what``."""
    page.wait_for_function(
        "async (what) => navigator.serviceWorker.controller !== null"
        " && navigator.serviceWorker.controller.state === 'activated'"
        " && (await caches.match(what, {ignoreSearch: true})) !== undefined",
        arg=what,
        timeout=20_000,
    )


# What Chromium's offline emulation now and then does to one navigation of a page a worker
# controls (in about one suite run of three): it sends it to the network
# (net::ERR_INTERNET_DISCONNECTED) rather than to the worker, and may leave the page detached
# ("Not attached to an active page") while it shows that error.
_EMULATION_FLAKES = ("ERR_INTERNET_DISCONNECTED", "Not attached to an active page")


def _reopen_offline(page: Page) -> Page:
    """The page's address opened again with the network off, as a rider's next tap opens it:
    reloaded, or, after one of Chromium's emulation flakes, opened in a new tab of the same
    phone (the same worker), up to three times. A worker that cannot serve the page offline
    fails every try. Returns the tab that holds it."""
    url = page.url
    for attempt in range(3):
        try:
            if attempt == 0:
                page.reload()
            else:
                page = page.context.new_page()
                page.goto(url)
            return page
        except PlaywrightError as exc:
            if attempt == 2 or not any(flake in str(exc) for flake in _EMULATION_FLAKES):
                raise
    raise AssertionError("unreachable")


def test_finder_and_code_page_open_offline_after_one_visit(
    server: ServerHarness, phone_context: Callable[..., BrowserContext]
) -> None:
    ids = [_add(server, name, lat, lon, address, capacity=4) for name, lat, lon, address in PLACES]
    _, link = server.enrol()

    context = phone_context()
    page = context.new_page()
    page.goto("/find")
    expect(page.locator("#stations > li")).to_have_count(3)
    _offline_ready(page, "/find")  # the page itself, then the list it shows
    _offline_ready(page, "/api/public/stations")
    context.set_offline(True)
    page = _reopen_offline(page)
    expect(page.locator("#stations > li")).to_have_count(3)
    expect(page.locator(f'li[data-station="{ids[2]}"] .free')).to_have_text("空位 4 / 4")
    expect(page.locator("#freshness")).to_have_text(re.compile(r"离线：\d+ 分钟前的数据"))
    expect(page.locator("#freshness")).to_have_class(re.compile("stale"))
    save_screenshot(page, "finder-offline")
    context.set_offline(False)
    expect(page.locator("#freshness")).to_have_text(re.compile(r"更新于"), timeout=15_000)

    rider = phone_context()  # a phone that has seen only its code page
    code_page = rider.new_page()
    code_page.goto(link)
    expect(code_page.locator("#qr svg")).to_be_visible()
    _offline_ready(code_page, code_page.url)
    _offline_ready(code_page, "/api/public/stations")
    rider.set_offline(True)
    code_page = _reopen_offline(code_page)
    expect(code_page.locator("#hint")).to_have_text("请将二维码对准门口摄像头")
    expect(code_page.locator("#nearby-list > li")).to_have_count(3)
    expect(code_page.locator("#nearby-freshness")).to_have_text(
        re.compile(r"离线：\d+ 分钟前的数据")
    )
    save_screenshot(code_page, "rider-page-offline")
    code_page.goto("/find")  # the finder too, never visited on this phone
    expect(code_page.locator("#stations > li")).to_have_count(3)


def test_staff_edit_what_riders_see(
    server: ServerHarness,
    browser: Browser,
    phone_context: Callable[..., BrowserContext],
    tmp_path: Path,
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, name="文三路驿站", latitude=30.28, longitude=120.13)
    desk_context = browser.new_context(
        viewport={"width": 1180, "height": 820},
        locale="zh-CN",
        base_url=str(server.client.base_url),
    )
    try:
        desk = desk_context.new_page()
        desk.goto(f"/login?next=/stations/{station_id}")
        desk.get_by_label("用户名").fill("admin")
        desk.get_by_label("密码").fill(ADMIN_PASSWORD)
        desk.get_by_role("button", name="登录").click()
        form = desk.locator("#details-form")
        form.get_by_label("地址").fill("西湖区文三路 90 号")
        form.get_by_label("饮用水").check()
        form.get_by_label("无线网络").check()
        form.get_by_label("修改理由（必填）").fill("开站")
        form.get_by_role("button", name="保存站点信息").click()
        expect(desk.locator("#audit .action").first).to_have_text("修改站点信息")
        expect(desk.locator("#details-form").get_by_label("无线网络")).to_be_checked()

        photo = tmp_path / "door.jpg"
        Image.new("RGB", (1600, 1200), (200, 120, 40)).save(photo, "JPEG")
        upload = desk.locator("#photo-form")
        upload.get_by_label("照片", exact=True).set_input_files(str(photo))
        upload.get_by_label("更换理由（必填）").fill("门口照片")
        upload.get_by_role("button", name="上传照片").click()
        expect(desk.locator("#station-photo")).to_be_visible()
        expect(desk.locator("#audit .action").first).to_have_text("更换站点照片")
        save_screenshot(desk, "station-rider-details")
    finally:
        desk_context.close()

    page = phone_context().new_page()
    page.goto("/find")
    card = page.locator(f'li[data-station="{station_id}"]')
    expect(card.locator(".address")).to_have_text("西湖区文三路 90 号", timeout=10_000)
    expect(card.locator(".amenity")).to_have_text(["饮用水", "无线网络"])
    expect(card.locator("img.photo")).to_have_js_property("naturalWidth", 1280)


def test_the_map_shows_the_public_list_when_asked(
    server: ServerHarness, make_station: MakeStation, phone_context: Callable[..., BrowserContext]
) -> None:
    ids = [_add(server, name, lat, lon, address, capacity=4) for name, lat, lon, address in PLACES]
    server.add_station(unique_station_id(), name="无坐标驿站")  # listed, not on the map
    server.client.post(
        f"/api/stations/{ids[2]}/occupancy", json={"target": 4, "reason": "test"}
    ).raise_for_status()
    live = make_station(ids[1])
    _, link = server.enrol()
    page = phone_context().new_page()
    page.add_init_script(WATCH_VIOLATIONS)
    page.clock.install()  # the page's poll timer, moved on below rather than waited for
    loaded: list[str] = []
    page.on("request", lambda request: loaded.append(request.url))
    page.goto("/find")
    expect(page.locator("#stations > li")).to_have_count(4)
    assert not [url for url in loaded if "leaflet" in url]  # not fetched until asked for
    page.get_by_role("button", name="在地图上看").tap()
    # Leaflet and the map module are fetched on the tap, then run: on a busy box (two test
    # workers, a server over TLS) that took past the default 5 s once in a clean-clone run.
    expect(page.locator("#map")).to_have_attribute("data-ready", "3", timeout=15_000)
    pins = page.locator("#map .station-marker")
    expect(pins).to_have_count(3)
    expect(page.locator(f'#map [data-station="{ids[1]}"]')).to_have_attribute("data-state", "open")
    expect(page.locator(f'#map [data-station="{ids[2]}"]')).to_have_attribute("data-state", "full")
    page.locator(f'#map [data-station="{ids[1]}"]').tap()
    popup = page.locator(".leaflet-popup .station-card")
    expect(popup).to_contain_text("武林驿站")
    expect(popup).to_contain_text("空位 4 / 4")
    expect(popup).to_contain_text("拱墅区武林广场 1 号")
    expect(popup.locator("a.amap")).to_have_text("高德地图")
    assert "/api/map" not in " ".join(loaded)  # the staff's map API is not asked
    save_screenshot(page, "finder-map")

    shown = enter(live.sim, server.qr_png(link), random.Random(7), _no_pause)
    assert shown is not None
    assert shown.allowed
    _next_poll_shows_free(server, page, ids[1], 3)
    expect(popup).to_contain_text("空位 3 / 4", timeout=15_000)  # the card follows the list
    page.get_by_role("button", name="收起地图").tap()
    expect(page.locator("#map")).to_be_hidden()
    assert page.evaluate("window.__violations") == []  # loaded under the page policy
