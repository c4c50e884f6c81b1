"""A code that works without signal, on a phone-sized Chromium in zh-CN: online the rider's page
gets a device certificate for a key WebCrypto made; offline it signs its own code, and a
station whose broker is down admits the picture on the screen."""

from __future__ import annotations

import random
from collections.abc import Callable

import cv2
import numpy as np
from playwright.sync_api import Page, expect

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol.reasons import Reason
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from tests.browser.conftest import save_screenshot
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for


def _decode_screen(png: bytes) -> list[str]:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    return PyzbarDecoder().decode(np.asarray(image, dtype=np.uint8))


def _square(png: bytes) -> bytes:
    """The element's picture cut square (a fraction of a pixel off), as the camera takes it."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    side = min(image.shape)
    ok, out = cv2.imencode(".png", image[:side, :side])
    assert ok
    return out.tobytes()


def _no_pause(_: float) -> None:
    return None


def test_offline_the_page_shows_a_device_code_that_a_station_without_broker_admits(
    server: ServerHarness,
    broker: PrivateBroker,
    make_station: Callable[..., StationHarness],
    phone: Page,
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    rider_id, link = server.enrol()

    phone.goto(f"{server.client.base_url}{link}")
    expect(phone.locator("#qr")).to_have_attribute("data-kind", "server")
    ready = phone.locator("#offline-ready")
    expect(ready).to_be_visible()  # the certificate came: the page says until when
    expect(ready).to_contain_text("无网络时也能进站")
    # The key stays in the browser, not extractable; only its certificate is on the server.
    extractable = phone.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("warm-station-pass", 1);
            open.onsuccess = () => {
                const get = open.result.transaction("device").objectStore("device").getAll();
                get.onsuccess = () => resolve(get.result.map((r) => r.keys.privateKey.extractable));
            };
        })"""
    )
    assert extractable == [False]

    phone.context.set_offline(True)  # no signal at the door

    expect(phone.locator("#qr")).to_have_attribute("data-kind", "device")
    expect(phone.locator("#status")).to_have_text("无网络：这是离线通行码，门口可直接扫码")
    save_screenshot(phone, "rider-page-device-code")
    screen = phone.locator("#qr").screenshot()
    [text] = _decode_screen(screen)
    assert text.startswith("WSD1:")

    broker.stop()  # the station has no server either
    wait_for(lambda: not station.transport.is_connected(), what="the station to notice")
    shown = enter(station.sim, _square(screen), random.Random(0), _no_pause)
    assert shown is not None
    assert (shown.allowed, shown.reason) == (True, Reason.GRANTED)
    assert station.sim.lock.unlock_count == 1

    phone.context.set_offline(False)  # signal again: the server's code comes back
    expect(phone.locator("#qr")).to_have_attribute("data-kind", "server")
    expect(phone.locator("#status")).to_have_text("")

    broker.start()  # the entry reaches the server as decided by the station
    wait_for(
        lambda: any(
            e.kind == "access_granted" and e.decided_by == "station" and e.rider_id == rider_id
            for e in server.events(station_id)
        ),
        timeout_s=30,
        what="the offline entry to reach the server",
    )
