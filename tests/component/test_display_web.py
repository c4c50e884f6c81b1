"""The door screen's web page, fetched over real HTTP on loopback as the kiosk browser would."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from i18n import rider_message, text
from protocol.reasons import DoorHint, Reason
from station_agent.adapters.display_web import WebDisplay
from tests.unit.station_agent.rig import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(0)


@pytest.fixture
def screen(clock: FakeClock) -> Iterator[WebDisplay]:
    display = WebDisplay("人民广场站", port=0, hold_s=5.0, clock=clock)
    yield display
    display.close()


@pytest.fixture
def http(screen: WebDisplay) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=screen.url, timeout=5) as client:
        yield client


def _state(http: httpx.Client) -> dict[str, object]:
    answer = http.get("/state.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    state: dict[str, object] = answer.json()
    return state


def test_idle_screen_names_the_station(http: httpx.Client) -> None:
    assert _state(http) == {
        "seq": 0,
        "kind": "idle",
        "station": "人民广场站",
        "zh": text("door.idle"),
        "en": text("door.idle", "en"),
    }


def test_a_welcome_is_green_words_then_idle_again(
    screen: WebDisplay, http: httpx.Client, clock: FakeClock
) -> None:
    screen.show(allowed=True, reason=Reason.GRANTED)
    state = _state(http)
    assert state["kind"] == "welcome"
    assert (state["zh"], state["en"]) == ("欢迎，请进", rider_message(Reason.GRANTED, "en"))
    clock.advance(4.9)
    assert _state(http)["kind"] == "welcome"
    clock.advance(0.1)
    assert _state(http)["kind"] == "idle"
    assert _state(http)["seq"] == 1


def test_a_refusal_says_what_to_do_and_a_repeat_is_a_new_message(
    screen: WebDisplay, http: httpx.Client
) -> None:
    screen.show(allowed=False, reason=Reason.EXPIRED)
    first = _state(http)
    screen.show(allowed=False, reason=Reason.EXPIRED)
    second = _state(http)
    assert first["kind"] == second["kind"] == "refusal"
    assert first["zh"] == rider_message(Reason.EXPIRED)
    assert first["en"] == rider_message(Reason.EXPIRED, "en")
    assert second["seq"] != first["seq"]  # the page shows it again, not "nothing changed"


def test_a_full_station_names_the_nearby_one(screen: WebDisplay, http: httpx.Client) -> None:
    hint = DoorHint(nearby="虹口站", nearby_distance_m=1_460, hotline="12351")
    screen.show(allowed=False, reason=Reason.STATION_FULL, hint=hint)
    state = _state(http)
    assert state["zh"] == "本站已满。虹口站有空位，距此1.5公里"
    assert state["en"] == "Station full. 虹口站 has room, 1.5 km away"


def test_the_page_is_self_contained_under_a_strict_policy(
    screen: WebDisplay, http: httpx.Client
) -> None:
    screen.show(allowed=False, reason=Reason.REVOKED)
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert rider_message(Reason.REVOKED) in html  # right even before the script runs
    assert 'class="refusal"' in html
    assert "<script>" not in html
    assert "style=" not in html
    assert "http" not in html.replace(screen.url, "")  # nothing from elsewhere
    for asset, kind in (("/display.js", "text/javascript"), ("/display.css", "text/css")):
        answer = http.get(asset)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == kind
    script = http.get("/display.js").text
    assert "/state.json" in script
    assert "innerHTML" not in script  # words go in as text, never as markup


def test_markup_in_a_station_name_stays_text(clock: FakeClock) -> None:
    display = WebDisplay("<b>x</b>", port=0, clock=clock)
    try:
        html = httpx.get(display.url, timeout=5).text
        assert "&lt;b&gt;x&lt;/b&gt;" in html
        assert "<b>" not in html
    finally:
        display.close()


def test_only_loopback_names_are_served(screen: WebDisplay, http: httpx.Client) -> None:
    """A page elsewhere that rebinds its own name to 127.0.0.1 still cannot read the screen."""
    assert http.get("/state.json", headers={"Host": "evil.example:80"}).status_code == 421
    assert http.get("/state.json", headers={"Host": f"localhost:{screen.port}"}).status_code == 200
    assert http.get("/nothing-here").status_code == 404
    assert http.post("/state.json").status_code == 501


def test_the_server_listens_on_loopback_only(screen: WebDisplay) -> None:
    assert screen.url.startswith("http://127.0.0.1:")
    assert screen._server.server_address[0] == "127.0.0.1"
