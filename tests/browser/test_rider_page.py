"""The rider's page on a phone-sized Chromium: the code it draws scans, it refreshes before
expiry, and it says so clearly when the network is weak or the pass is disabled."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import cv2
import numpy as np
from playwright.sync_api import Page, expect

from protocol.credential import Claims, verify_token
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from tests.browser.conftest import save_screenshot
from tests.support.stack import ServerHarness


def _decode_screen(png: bytes) -> list[str]:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    return PyzbarDecoder().decode(np.asarray(image, dtype=np.uint8))


def _url(server: ServerHarness, path: str) -> str:
    return f"{server.client.base_url}{path}"


def test_code_on_the_page_scans_and_verifies(server: ServerHarness, phone: Page) -> None:
    rider_id, link = server.enrol()
    phone.goto(_url(server, link))
    expect(phone.locator("#qr svg")).to_be_visible()
    expect(phone.locator("#left")).to_have_text(re.compile(r"剩余 \d+ 秒"))
    save_screenshot(phone, "rider-page-zh")

    [text] = _decode_screen(phone.locator("#qr").screenshot())

    keys = server.services.keys.ring.published(datetime.now(UTC))
    claims = verify_token(text, keys=keys, audience="ws-test", now=datetime.now(UTC).timestamp())
    assert isinstance(claims, Claims)
    assert claims.rider_id == rider_id


def test_page_refreshes_and_warns_on_weak_network(server: ServerHarness, phone: Page) -> None:
    _, link = server.enrol()
    phone.route("**/device-cert", lambda route: route.abort())  # a phone without a device code
    phone.clock.install()
    phone.goto(_url(server, link))
    expect(phone.locator("#qr svg")).to_be_visible()
    first = phone.locator("#qr").inner_html()

    phone.route("**/code", lambda route: route.abort())  # the network goes weak
    phone.clock.run_for(45_000)  # past the refresh point (a third of the lifetime left)

    status = phone.locator("#status")
    expect(status).to_have_class("weak")
    expect(status).to_contain_text("网络不佳")
    expect(status).to_contain_text(re.compile(r"仍可使用 1\d 秒"))
    assert phone.locator("#qr").inner_html() == first  # the valid code stays up
    save_screenshot(phone, "rider-page-weak-network")

    phone.clock.run_for(20_000)  # now past expiry, still offline
    expect(status).to_have_class("bad")
    expect(status).to_contain_text("已过期")
    expect(phone.locator("#qr")).to_have_class("stale")

    phone.unroute("**/code")  # back online: the next retry brings a fresh code
    phone.clock.run_for(4_000)
    expect(phone.locator("#qr")).not_to_have_class("stale")
    expect(phone.locator("#left")).to_have_text(re.compile(r"剩余 \d+ 秒"))
    assert phone.locator("#qr").inner_html() != first


def test_english_page(server: ServerHarness, phone: Page) -> None:
    _, link = server.enrol()
    phone.goto(_url(server, f"{link}?lang=en"))
    expect(phone.locator("#hint")).to_have_text("Hold this code up to the door camera")
    expect(phone.locator("#left")).to_have_text(re.compile(r"\d+ s left"))
    save_screenshot(phone, "rider-page-en")


def test_disabled_and_unknown_links_say_so(server: ServerHarness, phone: Page) -> None:
    rider_id, link = server.enrol()
    server.client.post(f"/api/riders/{rider_id}/revoke").raise_for_status()

    reply = phone.goto(_url(server, link))
    assert reply is not None
    assert reply.status == 410
    expect(phone.locator("#status")).to_have_text("通行证已停用，请联系工作人员")
    assert phone.locator("#qr").count() == 0

    reply = phone.goto(_url(server, "/r/not-a-real-link"))
    assert reply is not None
    assert reply.status == 404
    expect(phone.locator("#status")).to_contain_text("此链接无效")
