"""The staff dashboard in Chromium against the real server, a real broker and simulated
stations: logging in, the overview going live, alarms, remote unlock, enrolment and
revocation seen at the door, reports, the language switch."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from firmware_sim.rider import enter
from protocol.reasons import Reason
from server.alarms.models import Alarm
from server.core.localtime import LOCAL_TZ
from server.events.models import EventRecord
from server.stations.models import Station
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from tests.browser.conftest import save_screenshot
from tests.conftest import ADMIN_PASSWORD
from tests.support.qr import qr_png
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]


def _no_pause(_: float) -> None:
    return None


def _decode_screen(png: bytes) -> list[str]:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    return PyzbarDecoder().decode(np.asarray(image, dtype=np.uint8))


@pytest.fixture
def desk(browser: Browser, server: ServerHarness) -> Iterator[Page]:
    """A tablet-sized staff screen (closed before the server stops: its live stream ends)."""
    context = browser.new_context(
        viewport={"width": 1180, "height": 820},
        locale="zh-CN",
        base_url=str(server.client.base_url),
    )
    page = context.new_page()
    yield page
    context.close()


def _log_in(page: Page, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_contain_text(username)


def test_login_errors_then_overview(server: ServerHarness, desk: Page) -> None:
    server.client.post(
        "/api/staff",
        json={"username": "op-zhou", "password": "operator-pass-1", "role": "operator"},
    ).raise_for_status()
    desk.goto("/riders")
    expect(desk).to_have_url(re.compile(r"/login\?next=/riders$"))
    desk.get_by_label("用户名").fill("op-zhou")
    for attempt in range(5):
        desk.get_by_label("密码").fill(f"wrong-{attempt}")
        with desk.expect_response("**/api/auth/login"):  # one try at a time, like a person
            desk.get_by_role("button", name="登录").click()
        expect(desk.locator("#login-error")).to_have_text("用户名或密码错误")
        if attempt == 0:
            save_screenshot(desk, "dashboard-login-error")
    desk.get_by_label("密码").fill("operator-pass-1")
    desk.get_by_role("button", name="登录").click()
    expect(desk.locator("#login-error")).to_have_text(
        re.compile(r"登录失败次数过多，请 \d+ 秒后再试")
    )
    expect(desk).to_have_url(re.compile(r"/login"))

    desk.get_by_label("用户名").fill("admin")
    desk.get_by_label("密码").fill(ADMIN_PASSWORD)
    desk.get_by_role("button", name="登录").click()
    expect(desk).to_have_url(re.compile(r"/riders$"))  # back where the staff member was going
    expect(desk.locator("#whoami")).to_contain_text("admin")

    desk.get_by_role("button", name="退出登录").click()
    expect(desk).to_have_url(re.compile(r"/login$"))
    desk.goto("/reports")
    expect(desk).to_have_url(re.compile(r"/login\?next=/reports$"))  # the session is gone


def test_overview_shows_an_entry_live(
    server: ServerHarness, make_station: MakeStation, desk: Page
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, capacity=4)
    station = make_station(station_id)
    for _ in range(3):
        server.add_station(unique_station_id())  # offline ones, for the filter
    _, link = server.enrol()
    _log_in(desk)
    row = desk.locator(f'tr[data-station="{station_id}"]')
    expect(row.locator(".occupancy")).to_have_text("0")
    expect(row.locator(".state")).to_contain_text("开放中")  # online, open, room left
    expect(desk.locator("#live")).to_have_text("实时")
    desk.evaluate("window.stillTheSamePage = true")

    shown = enter(station.sim, server.qr_png(link), random.Random(1), _no_pause)
    assert shown is not None
    assert shown.allowed

    expect(row.locator(".occupancy")).to_have_text("1")
    expect(row.locator(".bar > span")).to_have_attribute("style", re.compile(r"width: 25%"))
    expect(row.locator(".entry")).not_to_be_empty()
    assert desk.evaluate("window.stillTheSamePage") is True  # updated without a reload

    desk.locator("#filter-state").select_option("offline")
    expect(desk.locator("tbody tr[data-station]:visible")).to_have_count(3)
    expect(desk.locator("#shown-count")).to_have_text("显示 3 个，共 4 个站点")
    desk.locator("#filter-state").select_option("all")
    desk.locator("#filter-text").fill(station_id[-6:])
    expect(desk.locator("tbody tr[data-station]:visible")).to_have_count(1)
    desk.locator("#filter-text").fill("")
    desk.get_by_role("columnheader", name="在站 / 容量").click()
    desk.get_by_role("columnheader", name="在站 / 容量").click()  # fullest first
    expect(desk.locator("tbody tr[data-station]").first).to_have_attribute(
        "data-station", station_id
    )
    save_screenshot(desk, "dashboard-overview")

    desk.set_viewport_size({"width": 768, "height": 1024})  # a tablet held upright
    for path in ("/", f"/stations/{station_id}", "/riders", "/reports"):
        desk.goto(path)
        overflow = desk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a tablet"
    desk.goto("/")
    save_screenshot(desk, "dashboard-overview-tablet")


def _alarms(server: ServerHarness, station_id: str) -> list[Alarm]:
    with Session(server.services.engine) as session:
        return list(session.exec(select(Alarm).where(Alarm.station_id == station_id)))


def test_station_page_acknowledge_and_remote_unlock(
    server: ServerHarness, make_station: MakeStation, desk: Page
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    station.sim.lock.unlock()  # forced open: the agent did not release the lock
    station.sim.door.open()
    wait_for(lambda: _alarms(server, station_id), what="a forced-open alarm")
    station.sim.door.close()
    station.sim.lock.lock()
    wait_for(lambda: _alarms(server, station_id)[0].cleared_at, what="the alarm cleared")
    _log_in(desk)
    expect(desk.locator(f'tr[data-station="{station_id}"] .alarms')).to_have_text("1")

    desk.goto(f"/stations/{station_id}")
    expect(desk.locator("svg.chart")).to_have_count(2)
    alarm_row = desk.locator("#station-alarms tr[data-alarm]")
    expect(alarm_row).to_contain_text("门被强行打开")
    expect(alarm_row).to_contain_text("未开锁、也未按出门按钮时门被打开")  # its detail, in words
    alarm_row.get_by_role("button", name="确认").click()
    desk.locator("#alarm-dialog").get_by_role("button", name="确定").click()  # no note needed
    expect(alarm_row.locator(".ack")).to_contain_text("admin")
    assert _alarms(server, station_id)[0].acknowledged_by == "admin"

    unlocks_before = station.sim.lock.unlock_count
    unlock = desk.locator("#unlock-form")
    unlock.get_by_role("button", name="开门").click()  # no reason yet: the form refuses
    assert desk.locator("#unlock-form input:invalid").count() == 1
    unlock.get_by_label("原因（必填）").fill("rider's phone is broken")
    unlock.get_by_role("button", name="开门").click()
    audit = desk.locator("#audit tbody")
    asked = audit.locator("tr").filter(has=desk.get_by_text("远程开门", exact=True))
    expect(asked).to_contain_text("rider's phone is broken")
    wait_for(lambda: station.sim.lock.unlock_count > unlocks_before, what="the door to unlock")
    wait_for(
        lambda: any(e.kind == "command_done" for e in server.events(station_id)),
        what="the station to confirm",
    )
    desk.reload()
    expect(audit.locator('td[data-action="command_done"]')).to_have_text(
        "站点已执行：远程开门（admin 发起）"
    )
    with Session(server.services.engine) as session:  # the count follows live here too
        row = session.get(Station, station_id)
        assert row is not None
        row.occupancy = 3
        session.add(row)
        session.commit()
    expect(desk.locator("#occupancy")).to_have_text("3")
    expect(desk.locator('#events td[data-kind="command_done"]')).to_have_count(1)
    done = desk.locator("#events tr", has=desk.locator('td[data-kind="command_done"]'))
    expect(done.locator("td.detail")).to_have_text("远程开门（admin）：rider's phone is broken")
    raised = desk.locator("#events tr", has=desk.locator('td[data-kind="alarm_raised"]'))
    expect(raised.locator('td[data-kind="alarm_raised"]')).to_have_text("告警：门被强行打开")
    expect(desk.locator("#events-csv")).to_have_attribute(
        "href", f"/api/events.csv?station_id={station_id}"
    )
    save_screenshot(desk, "dashboard-station")


def test_enrol_and_revoke_then_refused_at_the_door(
    server: ServerHarness, make_station: MakeStation, desk: Page
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    name = f"Chen {uuid.uuid4().hex[:4]}"
    _log_in(desk)
    desk.goto("/riders")
    desk.get_by_label("姓名（仅工作人员可见）").fill(name)
    desk.get_by_label("平台").first.select_option("sf_express")
    desk.get_by_role("button", name="登记骑手").click()

    card = desk.locator("#new-link")
    expect(card.locator("h2")).to_contain_text(name)  # the card names the rider
    expect(card.locator(".qr svg")).to_be_visible()
    url = desk.locator("#new-link-url").inner_text()
    assert url.startswith(f"{server.client.base_url}/r/")
    assert _decode_screen(card.locator(".qr").screenshot()) == [url]  # the QR is the link
    row = desk.locator("#riders tr[data-rider]", has_text=name)
    expect(row).to_have_count(1)
    rider_id = row.get_attribute("data-rider")
    assert rider_id is not None
    save_screenshot(desk, "dashboard-riders")
    token = server.token(url.removeprefix(str(server.client.base_url)))  # on the rider's phone

    desk.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="重新生成链接").click()  # a lost phone: a new link
    expect(desk.locator("#new-link-url")).not_to_have_text(url)
    renewed = desk.locator("#new-link-url").inner_text()
    assert _decode_screen(card.locator(".qr").screenshot()) == [renewed]
    assert server.client.get(url.removeprefix(str(server.client.base_url))).status_code == 404

    desk.goto(f"/riders?q={name}")
    desk.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="停用").click()
    expect(row.locator(".status")).to_contain_text("已停用")

    wait_for(
        lambda: rider_id in getattr(station.agent.state.view, "denylist", {}),
        what="the denylist to reach the station",
    )
    shown = enter(station.sim, qr_png(token), random.Random(2), _no_pause)
    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, Reason.REVOKED)
    assert station.sim.lock.unlock_count == 0


def test_reports_and_english(server: ServerHarness, desk: Page) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    # Noon yesterday, station time: six hours back never crosses a local midnight, whatever
    # the hour the test runs (from "now" in UTC it did, seven hours a day).
    noon = datetime.now(LOCAL_TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    noon -= timedelta(days=1)
    with Session(server.services.engine) as session:
        for i in range(12):
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
    _log_in(desk)
    desk.goto("/reports")
    expect(desk.locator("#total-visits")).to_have_text("12")
    expect(desk.locator("#total-riders")).to_have_text("4")
    expect(desk.locator("svg.chart")).to_have_count(2)
    expect(desk.locator("#daily tbody tr")).to_have_count(5)
    csv_link = desk.get_by_role("link", name="导出 CSV").first
    expect(csv_link).to_have_attribute("href", re.compile(r"^/api/reports/visits\.csv\?period=day"))
    save_screenshot(desk, "dashboard-reports")
    quiet = unique_station_id()
    server.add_station(quiet)
    desk.reload()
    desk.locator("select[name=station_id]").select_option(quiet)
    desk.get_by_role("button", name="查看").click()
    expect(desk.locator("#total-visits")).to_have_text("0")
    expect(csv_link).to_have_attribute("href", re.compile(f"station_id={quiet}"))

    desk.goto("/reports?since=2026-11-05&until=2026-11-01")
    # Said in Chinese beside the dates (the rest: test_reports.py)
    expect(desk.locator("#report-problem")).to_have_text("开始日期不能晚于结束日期")
    expect(desk.locator("#daily")).to_have_count(0)  # no figures for other days than asked

    desk.goto("/reports?lang=en")
    expect(desk.get_by_role("link", name="Reports")).to_be_visible()
    expect(desk.locator("#report-presets")).to_contain_text("Last 7 days")
    desk.goto("/riders?q=r-")  # remembered in a cookie
    expect(desk.get_by_role("heading", name="Riders & drivers", exact=True)).to_be_visible()
    desk.locator("#lang-switch").click()
    expect(desk).to_have_url(re.compile(r"/riders\?q=r-&lang=zh$"))
    expect(desk.get_by_role("heading", name="骑手/司机", exact=True)).to_be_visible()


def test_overview_with_200_stations(server: ServerHarness, desk: Page) -> None:
    now = datetime.now(UTC)
    with Session(server.services.engine) as session:
        for i in range(200):
            session.add(
                Station(
                    id=f"st-many-{i:03d}",
                    name=f"驿站 {i:03d}",
                    capacity=10 + i % 20,
                    occupancy=i % 13,
                    online=i % 7 != 0,
                    # Seconds, not minutes: offline past 10 minutes would raise an alarm.
                    online_changed_at=now - timedelta(seconds=i),
                    door_phase="forced_open" if i % 50 == 0 else "locked",
                )
            )
            if i % 40 == 0:
                session.add(Alarm(station_id=f"st-many-{i:03d}", kind="held_open", raised_at=now))
        session.commit()
    _log_in(desk)
    expect(desk.locator("tbody tr[data-station]")).to_have_count(200)
    expect(desk.locator("#live")).to_have_text("实时")
    desk.locator("#filter-state").select_option("alarms")
    expect(desk.locator("tbody tr[data-station]:visible")).to_have_count(5)
    desk.locator("#filter-state").select_option("offline")
    expect(desk.locator("#shown-count")).to_have_text("显示 29 个，共 200 个站点")
    desk.locator("#filter-state").select_option("all")
    desk.get_by_role("columnheader", name="未确认告警").click()
    desk.get_by_role("columnheader", name="未确认告警").click()
    expect(desk.locator("tbody tr[data-station] .alarms").first).to_have_text("1")
    with Session(server.services.engine) as session:  # a change elsewhere shows up live
        station = session.get(Station, "st-many-199")
        assert station is not None
        station.occupancy = 12
        session.add(station)
        session.commit()
    expect(desk.locator('tr[data-station="st-many-199"] .occupancy')).to_have_text("12")
    save_screenshot(desk, "dashboard-overview-200")
