"""The alarm console in Chromium against the real server, broker and a simulated station: a
door forced open reaches the console live, with the count in every tab's title, a beep and a
browser notification once staff turned alerts on; acknowledging and resolving take a note
(resolving requires one) and land in the audit trail in words, in both languages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, select

from server.alarms.models import Alarm
from tests.browser.conftest import save_screenshot
from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]


@pytest.fixture
def desk_context(browser: Browser, server: ServerHarness) -> Iterator[BrowserContext]:
    """A desktop at 1440x900 that may show notifications (the staff member allowed them)."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 900},
        locale="zh-CN",
        base_url=str(server.client.base_url),
    )
    context.grant_permissions(["notifications"])
    yield context
    context.close()


@pytest.fixture
def desk(desk_context: BrowserContext) -> Page:
    return desk_context.new_page()


def _log_in(page: Page, goto: str = "/alarms") -> None:
    page.goto(goto)
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#whoami")).to_contain_text("admin")


def _alarms(server: ServerHarness, station_id: str) -> list[Alarm]:
    with Session(server.services.engine) as session:
        return list(session.exec(select(Alarm).where(Alarm.station_id == station_id)))


def _counter(page: Page, name: str) -> int:
    return int(page.evaluate(f"Number(document.documentElement.dataset.{name} || 0)"))


def test_a_forced_door_reaches_the_console_with_sound_and_notification(
    server: ServerHarness, make_station: MakeStation, desk: Page, desk_context: BrowserContext
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, name="西湖驿站")
    station = make_station(station_id)
    _log_in(desk)
    expect(desk).to_have_title("告警 · 暖心驿站")
    expect(desk.locator("#alarm-list tr.empty")).to_have_text("暂无告警")
    overview = desk_context.new_page()  # a second tab, on the overview
    overview.goto("/")

    alerts = desk.locator("#alarm-alerts")
    expect(alerts).to_have_attribute("aria-pressed", "false")
    alerts.click()  # opt in: remembered for this browser
    expect(alerts).to_have_attribute("aria-pressed", "true")
    expect(alerts).to_have_text("告警提醒：已开启")
    assert _counter(desk, "alarmBeeps") == 1  # what it will sound like
    desk.evaluate("window.stillTheSamePage = true")

    station.sim.lock.unlock()  # the door forced: the agent did not release the lock
    station.sim.door.open()
    wait_for(lambda: _alarms(server, station_id), what="a forced-open alarm")

    row = desk.locator("#alarm-list tr[data-alarm]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("西湖驿站")
    expect(row).to_contain_text("门被强行打开")
    expect(row.locator(".ack .badge")).to_have_text("待确认")
    expect(desk).to_have_title("(1) 告警 · 暖心驿站")
    expect(overview).to_have_title(re.compile(r"^\(1\) "))  # every staff tab says so
    expect(desk.locator("#open-alarms")).to_have_text("1")
    expect(desk.locator("#alarm-announce")).to_have_text("新告警：西湖驿站：门被强行打开")
    # One notification and one beep for the browser, not one per tab.
    notices = lambda: _counter(desk, "alarmNotices") + _counter(overview, "alarmNotices")  # noqa: E731
    wait_for(lambda: notices() == 1, what="the browser notification")
    assert _counter(desk, "alarmBeeps") + _counter(overview, "alarmBeeps") == 2  # 1 the opt-in
    assert desk.evaluate("window.stillTheSamePage") is True  # live, no reload
    save_screenshot(desk, "alarm-console-new")

    station.sim.door.close()
    station.sim.lock.lock()
    wait_for(lambda: _alarms(server, station_id)[0].cleared_at, what="the alarm cleared")
    expect(row.locator("td").nth(3)).not_to_be_empty()  # the station says it is over

    row.get_by_role("button", name="确认").click()
    dialog = desk.locator("#alarm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#alarm-dialog-what")).to_have_text("西湖驿站：门被强行打开")
    dialog.get_by_label("备注（选填）").fill("已电话联系值班员")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".ack .badge")).to_have_text("已确认")
    expect(row.locator(".ack")).to_contain_text("admin")
    expect(row.locator(".ack")).to_contain_text("已电话联系值班员")
    expect(desk).to_have_title("告警 · 暖心驿站")  # nothing open now
    expect(overview).to_have_title(re.compile(r"^站点总览"))

    row.get_by_role("button", name="处理完毕").click()
    expect(dialog.get_by_label("处理说明（必填）")).to_be_visible()
    dialog.get_by_role("button", name="确定").click()  # no note: the form refuses
    assert dialog.locator("textarea:invalid").count() == 1
    dialog.get_by_label("处理说明（必填）").fill("   ")  # blank: the server refuses
    dialog.locator("textarea").evaluate("t => t.removeAttribute('required')")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog.locator(".form-error")).to_be_visible()
    assert _alarms(server, station_id)[0].resolved_at is None
    dialog.get_by_label("处理说明（必填）").fill("门锁已检修")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()
    # Resolved alarms leave the default list (still to handle) ...
    expect(desk.locator("#alarm-list tr[data-alarm]")).to_have_count(0)
    # ... and are found by their state.
    desk.locator("#alarm-filter select[name=state]").select_option("resolved")
    desk.get_by_role("button", name="查看").click()
    resolved = desk.locator("#alarm-list tr[data-alarm]")
    expect(resolved).to_have_count(1)
    expect(resolved.locator(".ack")).to_contain_text("门锁已检修")
    expect(resolved.locator(".ack .badge")).to_have_text("已处理")
    save_screenshot(desk, "alarm-console-resolved")

    desk.goto("/audit")
    audit = desk.locator("#audit tbody")
    acknowledged = audit.locator("tr", has_text="确认告警：门被强行打开")
    expect(acknowledged).to_contain_text("已电话联系值班员")
    expect(audit.locator("tr", has_text="处理完毕告警：门被强行打开")).to_contain_text(
        "状态：已确认 → 已处理"
    )
    desk.goto("/audit?lang=en")
    expect(desk.locator("#audit tbody")).to_contain_text("resolved an alarm: door forced open")
    expect(desk.locator("#audit tbody")).to_contain_text("state: acknowledged → resolved")


def test_alerts_stay_off_until_asked_and_filters_work(
    server: ServerHarness, make_station: MakeStation, desk: Page
) -> None:
    first, second = unique_station_id(), unique_station_id()
    server.add_station(first, name="北山驿站")
    server.add_station(second, name="南山驿站")
    station = make_station(first)
    _log_in(desk)
    desk.goto("/alarms?lang=en")  # remembered from now on
    expect(desk).to_have_title("Alarms · Warm Station")
    station.sim.lock.unlock()
    station.sim.door.open()
    wait_for(lambda: _alarms(server, first), what="a forced-open alarm")
    expect(desk).to_have_title("(1) Alarms · Warm Station")
    expect(desk.locator("#alarm-announce")).to_contain_text("New alarm: 北山驿站")
    assert _counter(desk, "alarmBeeps") == 0  # not asked for: no sound, no notification
    assert _counter(desk, "alarmNotices") == 0

    desk.locator("#alarm-filter select[name=station]").select_option(second)
    desk.get_by_role("button", name="Show").click()
    expect(desk.locator("#alarm-list tr.empty")).to_have_count(1)
    desk.locator("#alarm-filter select[name=station]").select_option(first)
    desk.locator("#alarm-filter select[name=kind]").select_option("forced_open")
    desk.get_by_role("button", name="Show").click()
    expect(desk.locator("#alarm-list tr[data-alarm]")).to_have_count(1)
    expect(desk.locator("#alarm-list")).to_contain_text("door forced open")
    overflow = desk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    desk.set_viewport_size({"width": 390, "height": 844})  # a phone: one card per alarm
    for path in ("/alarms", "/audit"):
        desk.goto(path)
        overflow = desk.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
        save_screenshot(desk, f"alarm-console-phone{path.replace('/', '-')}")
