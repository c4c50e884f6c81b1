"""Alarm and command detail lines in staff's words: every shape, and every code a line can
carry, has words in both languages; the Chinese has no English left in it; a line in no
known shape is shown as it is."""

from __future__ import annotations

import re

import pytest

from protocol.details import Shape, write
from protocol.payloads import CommandKind, Passage
from server.alarms.details import detail_words
from server.alarms.welfare import WelfareCause
from server.alerts.message import AlarmFacts, compose
from station_agent.core.commands import CommandRefusal
from station_agent.core.door import CameraHealth
from tests.unit.protocol.test_details import SAMPLES

OFFLINE_CAUSES = ("disconnected", "heartbeat_missed", "link lost")  # link lost: the default
LINES = [
    *(write(shape, **values) for shape, values in SAMPLES.items()),
    *(write(Shape.TAILGATE, passage=p.value) for p in Passage),
    *(
        write(Shape.CAMERA_TROUBLE, camera=c.value, seconds=30)
        for c in CameraHealth
        if c.value != "ok"
    ),
    *(write(Shape.WELFARE, cause=c.value, hours="2.5") for c in WelfareCause),
    *(write(Shape.OFFLINE, since="2026-11-29 19:35", cause=c, minutes=12) for c in OFFLINE_CAUSES),
    *(write(Shape.COMMAND_DONE, command=k.value, by="admin", reason="测试") for k in CommandKind),
    *(
        write(Shape.COMMAND_REFUSED, command="remote_unlock", refusal=r.value)
        for r in CommandRefusal
    ),
    write(Shape.COMMAND_REFUSED, command="remote_unlock", refusal="station in lockdown"),
]
LATIN = re.compile(r"[A-Za-z]")


@pytest.mark.parametrize("line", LINES)
def test_every_line_is_said_in_chinese_and_english(line: str) -> None:
    chinese = detail_words(line, "zh")
    assert chinese != line
    # The user name "admin" is the only Latin a line may keep.
    assert not LATIN.search(chinese.replace("admin", "")), chinese
    english = detail_words(line, "en")
    assert english
    assert "_" not in english, english  # codes said in words


def test_examples() -> None:
    assert detail_words("open for 60 s", "zh") == "门已开启 60 秒未关"
    assert detail_words("camera covered for 30 s", "zh") == "摄像头被遮挡，已持续 30 秒"
    assert (
        detail_words("offline since 2026-11-29 19:35 (heartbeat_missed), 12 min", "zh")
        == "2026-11-29 19:35 起离线（心跳中断），已 12 分钟"
    )
    assert detail_words("remote_unlock by admin: 手机没电", "zh") == "远程开门（admin）：手机没电"
    assert detail_words("remote_unlock: expired", "en") == "remote unlock refused: expired"
    assert detail_words("cold: inside 2.5 h, please look in", "zh").startswith("严寒天气")


@pytest.mark.parametrize("line", [None, "", "door fell off", "camera sideways for 3 s"])
def test_a_line_in_no_shape_or_with_an_unknown_code_is_shown_as_it_is(line: str | None) -> None:
    assert detail_words(line, "zh") == (line or "")


def test_an_alert_says_the_detail_in_the_notifiers_language() -> None:
    from datetime import UTC, datetime

    facts = AlarmFacts(
        1, "st-1", "一号站", "held_open", datetime(2026, 11, 29, tzinfo=UTC), "open for 60 s"
    )
    message = compose(facts, language="zh", public_url="")
    assert message.text.splitlines()[-1] == "详情：门已开启 60 秒未关"
    assert message.detail == "open for 60 s"  # the machine field keeps the line
