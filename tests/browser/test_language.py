"""No English on a Chinese page: API errors shown by the pages' script, alarm details and the
usage log's details are said in the page's language, and a scan of the staff pages finds no
English words (ids, user names and "CSV" aside) and no catalogue key left untranslated."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from protocol.details import Shape, write
from server.alarms.models import Alarm
from server.events.models import EventRecord
from tests.browser.conftest import overview_took
from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness, unique_station_id

# Words a Chinese page may show in Latin letters: the switch to English, the file format.
ALLOWED = {"English", "CSV", "admin", "JPEG", "PNG", "WebP"}  # names, not words
TOKEN = re.compile(r"[A-Za-z0-9_'.:/-]+")


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


def _english_words(page: Page) -> list[str]:
    """Latin words in what the page shows (ids, with a digit or a hyphen, are not words)."""
    text = page.locator("body").inner_text()
    words = {t.strip("'.:") for t in TOKEN.findall(text) if re.search("[A-Za-z]", t)}
    return sorted(w for w in words if w not in ALLOWED and not re.search(r"[0-9-]", w))


def _station_with_history(server: ServerHarness) -> tuple[str, int]:
    """A station with alarms and events of every detail shape; the id of an open alarm."""
    station_id = unique_station_id()
    server.add_station(station_id)
    now = datetime.now(UTC)
    details = {
        "held_open": write(Shape.HELD_OPEN, seconds=60),
        "contact_fault": write(Shape.CONTACT_FAULT, changes=10, seconds=5),
        "camera_tamper": write(Shape.CAMERA_TROUBLE, camera="covered", seconds=30),
        "station_offline": write(
            Shape.OFFLINE, since="2026-11-29 19:35", cause="heartbeat_missed", minutes=12
        ),
        "welfare": write(Shape.WELFARE, cause="night", hours="4.2"),
        "tailgate": write(Shape.TAILGATE, passage="entry"),
    }
    with Session(server.services.engine) as session:
        alarms = [
            Alarm(station_id=station_id, kind=kind, raised_at=now - timedelta(minutes=i), detail=d)
            for i, (kind, d) in enumerate(details.items())
        ]
        session.add_all(alarms)
        lines = [
            (
                "command_done",
                write(Shape.COMMAND_DONE, command="lockdown", by="admin", reason="演练"),
            ),
            (
                "command_refused",
                write(Shape.COMMAND_REFUSED, command="remote_unlock", refusal="expired"),
            ),
            ("alarm_raised", details["held_open"]),
        ]
        for seq, (kind, line) in enumerate(lines, start=1):
            session.add(
                EventRecord(
                    event_id=uuid.uuid4().hex,
                    station_id=station_id,
                    epoch="e1",
                    seq=seq,
                    kind=kind,
                    alarm="held_open" if kind == "alarm_raised" else None,
                    detail=line,
                    occurred_at=now - timedelta(seconds=seq),
                    received_at=now,
                    applied=True,
                )
            )
        session.commit()
        first = alarms[0].id
        assert first is not None
    return station_id, first


def test_details_are_said_in_chinese(server: ServerHarness, desk: Page) -> None:
    station_id, _ = _station_with_history(server)
    desk.goto(f"/stations/{station_id}")
    alarms = desk.locator("#station-alarms tbody")
    for words in (
        "门已开启 60 秒未关",
        "门磁 5 秒内变化 10 次",
        "摄像头被遮挡，已持续 30 秒",
        "2026-11-29 19:35 起离线（心跳中断），已 12 分钟",
        "夜间已在站内 4.2 小时，请前往查看",
        "一次开锁进入了不止一人",
    ):
        expect(alarms).to_contain_text(words)
    events = desk.locator("#events tbody")
    expect(events).to_contain_text("封闭站点（admin）：演练")
    expect(events).to_contain_text("远程开门未执行：指令已过期")
    expect(events).to_contain_text("告警：门长时间未关")
    assert _english_words(desk) == []

    desk.goto(f"/stations/{station_id}?lang=en")
    expect(desk.locator("#station-alarms tbody")).to_contain_text("at night: inside 4.2 h")
    expect(desk.locator("#events tbody")).to_contain_text("lockdown by admin: 演练")


@pytest.mark.parametrize(
    "path", ["/", "/reports", "/riders", "/reports?since=2026-11-05&until=2026-11-01"]
)
def test_chinese_pages_show_no_english(server: ServerHarness, desk: Page, path: str) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    overview_took(desk, station_id)  # the page the login led to
    desk.goto(path)
    assert _english_words(desk) == [], path
    shown = desk.locator("body").inner_text()
    assert not re.search(r"\b(page|code|error|detail)\.[a-z_]+", shown), path  # no raw keys


def test_api_errors_shown_by_the_script_are_in_the_pages_language(
    server: ServerHarness, desk: Page
) -> None:
    station_id, alarm_id = _station_with_history(server)
    desk.goto(f"/stations/{station_id}")
    # Someone else acknowledges it first: the dialog's answer is a 409 with values.
    server.client.post(f"/api/alarms/{alarm_id}/acknowledge").raise_for_status()
    row = desk.locator(f'#station-alarms tr[data-alarm="{alarm_id}"]')
    row.get_by_role("button", name="确认").click()
    dialog = desk.locator("#alarm-dialog")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog.locator(".form-error")).to_have_text(f"告警 {alarm_id} 已由 admin 确认")
    dialog.get_by_role("button", name="取消").click()

    # Past what the form allows (a script, an old page): the API's field, in words.
    form = desk.locator("#unlock-form")
    reason = form.get_by_label("原因（必填）")
    reason.evaluate("(input) => input.removeAttribute('maxlength')")
    reason.fill("太长" * 101)
    form.get_by_role("button", name="开门").click()
    expect(form.locator(".form-error")).to_have_text("填写的内容有误：原因")

    # Logged in again elsewhere in this browser: this page's CSRF token is stale.
    desk.context.request.post(
        "/api/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    reason.fill("测试")
    form.get_by_role("button", name="开门").click()
    expect(form.locator(".form-error")).to_have_text("页面已过期，请刷新后重试")
