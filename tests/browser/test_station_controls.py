"""The station page in Chromium against the real server, broker and a simulated station: the
controls (lockdown, mode, count, capacity, opening hours and holidays) each need a reason,
reach the station and land in the audit trail in words; the alarm table and the usage log
follow the station live; a remote unlock for an offline station warns first."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from firmware_sim.rider import enter
from tests.browser.conftest import save_screenshot
from tests.conftest import ADMIN_PASSWORD
from tests.support.qr import qr_png
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]


@pytest.fixture
def desk(browser: Browser, server: ServerHarness) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1440, "height": 900},
        locale="zh-CN",
        base_url=str(server.client.base_url),
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "lock this station down?": yes
    yield page
    context.close()


def _open(page: Page, station_id: str) -> None:
    page.goto(f"/stations/{station_id}")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_contain_text("admin")
    expect(page.locator("#station-facts")).to_have_attribute("data-station", station_id)


def _no_pause(_: float) -> None:
    return None


def _audit_row(page: Page, what: str) -> Locator:
    """The newest audit line whose action reads exactly ``what``."""
    action = page.locator("td.action").get_by_text(what, exact=True)
    return page.locator("#audit tbody tr").filter(has=action).first


def _submit(page: Page, button: Locator) -> None:
    """Submit a staff form and wait for the page to reload, as it does 600 ms after a form
    is accepted (staff.js): a fill or a navigation of the test's meanwhile would be lost, or
    aborted (``net::ERR_ABORTED``, seen once)."""
    with page.expect_navigation():
        button.click()


def test_lockdown_and_mode_reach_the_station_and_show_as_a_badge(
    server: ServerHarness, make_station: MakeStation, desk: Page
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, name="湖滨驿站")
    station = make_station(station_id)
    _open(desk, station_id)
    badge = desk.locator("#mode-badge")
    expect(badge).to_be_hidden()

    form = desk.locator("#lockdown-form")
    form.get_by_role("button", name="封闭站点").click()  # no reason: the form refuses
    assert form.locator("input:invalid").count() == 1
    form.get_by_label("原因（必填）").fill("门外有人打架")
    _submit(desk, form.get_by_role("button", name="封闭站点"))
    expect(badge).to_have_text("封闭中")
    expect(badge).to_be_visible()
    wait_for(lambda: station.agent.lockdown, what="the lockdown to reach the station")
    expect(desk.locator("#lockdown-form strong")).to_have_text("封闭中")
    row = _audit_row(desk, "封闭站点")
    expect(row).to_contain_text("封闭：否 → 是")
    expect(row).to_contain_text("门外有人打架")
    save_screenshot(desk, "station-lockdown")

    form = desk.locator("#lockdown-form")
    form.get_by_label("原因（必填）").fill("已处理完毕")
    _submit(desk, form.get_by_role("button", name="解除封闭"))
    wait_for(lambda: not station.agent.lockdown, what="the release to reach the station")
    expect(badge).to_be_hidden()

    mode = desk.locator("#mode-form")
    mode.get_by_label("运行模式").select_option("free_entry")
    expect(mode.get_by_label("应急原因")).to_be_visible()
    mode.get_by_label("应急原因").select_option("typhoon")
    mode.get_by_label("原因（必填）").fill("台风红色预警")
    _submit(desk, mode.get_by_role("button", name="应用"))
    expect(badge).to_have_text("应急开放（台风）")
    wait_for(lambda: station.agent.mode == "free_entry", what="free entry at the station")
    expect(_audit_row(desk, "切换运行模式")).to_contain_text("应急开放：无 → 台风")

    mode = desk.locator("#mode-form")
    mode.get_by_label("运行模式").select_option("maintenance")
    expect(mode.get_by_label("应急原因")).to_be_hidden()
    mode.get_by_label("原因（必填）").fill("更换门锁")
    _submit(desk, mode.get_by_role("button", name="应用"))
    expect(badge).to_have_text("维护中")
    wait_for(lambda: station.agent.mode == "maintenance", what="maintenance at the station")
    _, link = server.enrol()
    shown = enter(station.sim, server.qr_png(link), random.Random(1), _no_pause)
    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, "maintenance")

    desk.goto(f"/stations/{station_id}?lang=en")
    expect(desk.locator("#mode-badge")).to_have_text("maintenance")
    expect(desk.locator("#audit tbody")).to_contain_text("changed the mode")
    expect(desk.locator("#audit tbody")).to_contain_text("lockdown: no → yes")


def test_count_capacity_and_hours_with_their_rejections(
    server: ServerHarness, make_station: MakeStation, desk: Page
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, capacity=6)
    station = make_station(station_id)
    _open(desk, station_id)

    count = desk.locator("#count-form")
    count.get_by_label("实际在站人数").fill("3")
    count.get_by_label("原因（必填）").fill("现场清点")
    _submit(desk, count.get_by_role("button", name="应用"))
    expect(desk.locator("#occupancy")).to_have_text("3")
    expect(_audit_row(desk, "校正在站人数")).to_contain_text("在站人数：0 → 3")

    capacity = desk.locator("#capacity-form")
    capacity.get_by_label("最多容纳人数").fill("0")  # below 1: the form refuses
    capacity.get_by_label("原因（必填）").fill("试一下")
    capacity.get_by_role("button", name="保存").click()
    assert capacity.locator("input:invalid").count() == 1
    capacity.get_by_label("最多容纳人数").evaluate("i => i.removeAttribute('min')")
    capacity.get_by_role("button", name="保存").click()  # the server refuses too
    expect(capacity.locator(".form-error")).to_be_visible()
    assert server.station(station_id).capacity == 6
    capacity.get_by_label("最多容纳人数").fill("8")
    capacity.get_by_label("原因（必填）").fill("加了两张床")
    _submit(desk, capacity.get_by_role("button", name="保存"))
    expect(_audit_row(desk, "修改站点规则")).to_contain_text("容量：6 → 8")
    assert server.station(station_id).capacity == 8

    hours = desk.locator("#hours-form")
    expect(hours.get_by_label("24 小时开放")).to_be_checked()
    hours.get_by_label("24 小时开放").uncheck()
    week = hours.locator("tr[data-day]")
    for day in range(5):
        week.nth(day).get_by_label(f"周{'一二三四五'[day]} 开门").fill("08:00")
        week.nth(day).locator('[name="closes"]').fill("22:00")
    for day in (5, 6):
        week.nth(day).locator('[name="closed"]').check()
    hours.get_by_role("button", name="添加日期").click()
    holiday = hours.locator("#holiday-rows tr").last
    holiday.locator('[name="date"]').fill("2026-10-01")
    holiday.locator('[name="closed"]').check()
    hours.get_by_label("原因（必填）").fill("冬季作息")
    # A day neither closed nor given both times: the server says what is wrong.
    week.nth(0).locator('[name="closes"]').fill("")
    hours.get_by_role("button", name="保存").click()
    expect(hours.locator(".form-error")).to_be_visible()
    assert server.station(station_id).opening_hours is None
    week.nth(0).locator('[name="closes"]').fill("22:00")
    _submit(desk, hours.get_by_role("button", name="保存"))
    expect(desk.locator("#hours-text")).to_have_text(
        "周一至周五 08:00–22:00；周六、周日 关闭；2026-10-01 关闭"
    )
    stored = json.loads(server.station(station_id).opening_hours or "null")
    assert stored == {
        "weekly": [["08:00", "22:00"]] * 5 + [None, None],
        "holidays": {"2026-10-01": None},
    }
    expect(_audit_row(desk, "修改站点规则")).to_contain_text(
        "开放时间：24 小时开放 → 周一至周五 08:00–22:00"
    )
    # The form shows what is stored, and back to 24 hours.
    expect(desk.locator("#holiday-rows tr")).to_have_count(1)
    hours = desk.locator("#hours-form")
    hours.get_by_label("24 小时开放").check()
    hours.get_by_label("原因（必填）").fill("恢复全天")
    _submit(desk, hours.get_by_role("button", name="保存"))
    expect(desk.locator("#hours-text")).to_have_text("24 小时开放")
    save_screenshot(desk, "station-controls")
    assert station.agent.configured


def test_alarms_and_log_are_live_and_an_offline_unlock_warns(
    server: ServerHarness, make_station: MakeStation, desk: Page
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    _open(desk, station_id)
    desk.evaluate("window.stillTheSamePage = true")
    expect(desk.locator("#offline-warning")).to_be_hidden()

    not_a_pass = qr_png("https://example.com/menu")
    shown = enter(station.sim, not_a_pass, random.Random(2), _no_pause)  # a refusal
    assert shown is not None
    expect(desk.locator('#events td[data-kind="access_denied"]')).to_have_count(1)
    station.sim.lock.unlock()  # forced open
    station.sim.door.open()
    alarm = desk.locator("#station-alarms tr[data-alarm]")
    expect(alarm).to_contain_text("门被强行打开")
    station.sim.door.close()
    station.sim.lock.lock()
    assert desk.evaluate("window.stillTheSamePage") is True

    station.stop()  # the station goes away: its will marks it offline
    warning = desk.locator("#offline-warning")
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_contain_text("站点当前离线")
    unlock = desk.locator("#unlock-form")
    unlock.get_by_label("原因（必填）").fill("骑手手机没电")
    unlock.get_by_role("button", name="开门").click()  # not confirmed: refused
    expect(unlock.locator(".form-error")).to_be_visible()
    assert (
        server.client.get(  # nothing sent, nothing audited
            "/api/audit", params={"station_id": station_id, "action": "command_remote_unlock"}
        ).json()
        == []
    )
    unlock.get_by_label("我已知晓，仍然发送").check()
    unlock.get_by_role("button", name="开门").click()
    expect(_audit_row(desk, "远程开门")).to_contain_text("发送时站点在线：否")
    save_screenshot(desk, "station-offline-unlock")
