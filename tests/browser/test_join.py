"""Joining without a desk in Chromium on a phone (390x844, zh-CN) with staff at a tablet:
the rider asks at /join, staff approve on the riders page, and the same phone page, untouched,
turns into a pass whose code a station admits; refused and expired requests say so; an invite
code enrols at once. And the riders page: a reload after enrolling enrols nobody, the card
names the rider, its copy button copies the link."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update
from sqlmodel import Session, func, select

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol.payloads import ProvisioningBundle
from server.core.localtime import utcnow
from server.core.settings import ServerSettings
from server.join.models import JoinRequest
from server.riders.models import Rider
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from tests.browser.conftest import save_screenshot
from tests.browser.test_content_policy import WATCH_VIOLATIONS
from tests.conftest import ADMIN_PASSWORD, SERVER_BROKER_PASSWORD, logged_in_server
from tests.support.qr import qr_png
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]
CODE = re.compile(r"^[A-Z0-9]{3}-[A-Z0-9]{3}$")


@pytest.fixture
def server(
    broker: PrivateBroker, tmp_path: Path, bundles: dict[str, ProvisioningBundle]
) -> Iterator[ServerHarness]:
    settings = ServerSettings(
        data_dir=tmp_path / "server",
        audience="ws-test",
        admin_password=ADMIN_PASSWORD,
        hotline="12351",
        **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
    )
    with logged_in_server(settings, broker, bundles) as harness:
        yield harness


@pytest.fixture
def phone(browser: Browser, server: ServerHarness) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        base_url=str(server.client.base_url),
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desk(browser: Browser, server: ServerHarness) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1180, "height": 820},
        locale="zh-CN",
        base_url=str(server.client.base_url),
    )
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_contain_text("admin")
    yield page
    context.close()


def _no_pause(_: float) -> None:
    return None


def _decode(png: bytes) -> list[str]:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    return PyzbarDecoder().decode(np.asarray(image, dtype=np.uint8))


def _riders(server: ServerHarness) -> int:
    with Session(server.services.engine) as session:
        return int(session.exec(select(func.count()).select_from(Rider)).one())


def _fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True


def _ask(phone: Page, platform: str = "美团", name: str = "") -> str:
    phone.goto("/join")
    expect(phone.locator("header")).to_contain_text("加入暖心驿站")
    expect(phone.locator("#hotline")).to_contain_text("12351")
    _fits_the_screen(phone)
    phone.get_by_text(platform, exact=True).tap()
    if name:
        phone.get_by_label("称呼（选填，只有工作人员看得到）").fill(name)
    phone.get_by_role("button", name="申请加入").tap()
    expect(phone.locator("#wait")).to_be_visible()
    code = phone.locator("#code").inner_text()
    assert CODE.match(code), code
    return code


def test_join_approve_and_the_same_page_becomes_a_pass_the_door_admits(
    server: ServerHarness, make_station: MakeStation, phone: Page, desk: Page
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)

    code = _ask(phone, "饿了么", "小周")
    save_screenshot(phone, "join-waiting")
    phone.reload()  # closed and opened again: still waiting for the same request
    expect(phone.locator("#code")).to_have_text(code)
    phone.evaluate("window.stillTheSamePage = true")

    desk.goto("/riders")
    row = desk.locator("#pending-requests tr", has_text=code)
    expect(row).to_contain_text("小周")
    expect(row).to_contain_text("饿了么")
    save_screenshot(desk, "join-riders-pending")
    row.get_by_role("button", name="通过").click()
    expect(desk.locator("#done")).to_contain_text(f"已通过申请 {code}")

    # The phone, untouched, opens the rider's own pass.
    expect(phone).to_have_url(re.compile(r"/r/[A-Za-z0-9_-]{32}$"), timeout=15_000)
    expect(phone.locator("#qr svg")).to_be_visible()
    save_screenshot(phone, "join-approved-pass")
    [token] = _decode(phone.locator("#qr").screenshot())
    shown = enter(station.sim, qr_png(token), random.Random(3), _no_pause)
    assert shown is not None
    assert shown.allowed
    assert station.sim.lock.unlock_count == 1
    phone.goto("/join")  # the request is done: a fresh form, not the old wait
    expect(phone.locator("#ask")).to_be_visible()


def test_a_refused_request_says_so_and_offers_to_ask_again(
    server: ServerHarness, phone: Page, desk: Page
) -> None:
    code = _ask(phone)
    desk.goto("/riders")
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.locator("#pending-requests tr", has_text=code).get_by_role("button", name="拒绝").click()
    expect(desk.locator("#done")).to_contain_text(f"已拒绝申请 {code}")

    expect(phone.locator("#outcome-text")).to_have_text("申请未通过。", timeout=15_000)
    expect(phone.locator("#hotline")).to_contain_text("12351")
    save_screenshot(phone, "join-refused")
    phone.get_by_role("button", name="重新申请").tap()
    expect(phone.locator("#ask")).to_be_visible()
    assert _riders(server) == 0


def test_an_expired_request_says_so(server: ServerHarness, phone: Page) -> None:
    _ask(phone)
    with Session(server.services.engine) as session:
        session.exec(update(JoinRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    expect(phone.locator("#outcome-text")).to_have_text("申请已过期，请重新申请。", timeout=15_000)


def test_the_page_says_what_is_wrong(server: ServerHarness, phone: Page) -> None:
    phone.goto("/join")
    phone.get_by_role("button", name="申请加入").tap()  # no platform chosen
    expect(phone.locator("#error")).to_have_text("请选择您所在的平台。")
    phone.get_by_text("京东", exact=True).tap()
    phone.get_by_label("邀请码（没有可不填）").fill("ACEF-HJKM")
    phone.get_by_role("button", name="申请加入").tap()
    expect(phone.locator("#error")).to_have_text("邀请码不正确，请核对后再试。")
    save_screenshot(phone, "join-form-error")
    assert _riders(server) == 0


def test_an_invite_code_enrols_at_once(
    server: ServerHarness, make_station: MakeStation, phone: Page
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    made = server.client.post("/api/join/invites", json={"platform": "didi", "count": 2})
    invite = made.raise_for_status().json()["codes"][0]["code"]

    phone.goto(f"/join?invite={invite.replace('-', '')}")
    expect(phone.get_by_label("邀请码（没有可不填）")).to_have_value(invite)
    phone.get_by_role("button", name="申请加入").tap()
    expect(phone).to_have_url(re.compile(r"/r/[A-Za-z0-9_-]{32}$"))
    expect(phone.locator("#qr svg")).to_be_visible()
    [token] = _decode(phone.locator("#qr").screenshot())
    shown = enter(station.sim, qr_png(token), random.Random(4), _no_pause)
    assert shown is not None
    assert shown.allowed

    phone.goto(f"/join?invite={invite}")  # the same code again
    phone.get_by_role("button", name="申请加入").tap()
    expect(phone.locator("#error")).to_have_text("这个邀请码已经用过了。")
    assert _riders(server) == 1


def test_english_join_page(server: ServerHarness, phone: Page) -> None:
    phone.add_init_script(WATCH_VIOLATIONS)
    phone.goto("/join?lang=en")
    expect(phone.locator("header")).to_contain_text("Join Warm Station")
    phone.get_by_text("SF Express", exact=True).tap()
    phone.get_by_role("button", name="Ask to join").tap()
    expect(phone.locator("#wait h1")).to_have_text("Request sent")
    expect(phone.locator("#valid-until")).to_contain_text("valid until")
    assert phone.evaluate("window.__violations") == []  # nothing blocked by the page's policy


def test_a_reload_after_enrolling_enrols_nobody_and_copy_copies(
    server: ServerHarness, desk: Page
) -> None:
    desk.context.grant_permissions(["clipboard-read", "clipboard-write"])
    desk.goto("/riders")
    desk.get_by_label("姓名（仅工作人员可见）").first.fill("刘师傅")
    desk.get_by_role("button", name="登记骑手").click()
    card = desk.locator("#new-link")
    expect(card.locator("h2")).to_have_text(re.compile(r"^刘师傅（r-[a-z0-9]{12}）的个人链接$"))
    url = desk.locator("#new-link-url").inner_text()
    assert _riders(server) == 1

    desk.reload()  # post/redirect/get: no "resend the form?", no second rider
    expect(desk.locator("#new-link-url")).to_have_text(url)
    wait_for(lambda: _riders(server) == 1, what="still one rider")
    assert _riders(server) == 1

    card.get_by_role("button", name="复制链接").click()
    expect(desk.locator("#copy-status")).to_have_text("已复制")
    assert desk.evaluate("navigator.clipboard.readText()") == url
    save_screenshot(desk, "riders-link-card")
