"""Audit entries in words, in both languages: the action, the fields before and after, who
did it; station answers to commands read from their stored detail; opening hours in words."""

from __future__ import annotations

from typing import Any

import pytest

import i18n
from server.audit.wording import describe, describe_change
from server.stations.hours_text import describe_hours


def _line(action: str, language: str = "zh", **fields: Any) -> tuple[str, str, str]:
    values: dict[str, Any] = {
        "actor": "li",
        "station_id": "st-1",
        "rider_id": None,
        "detail": "",
        "before": {},
        "after": {},
    } | fields
    line = describe(action=action, language=language, **values)
    return line.actor, line.what, line.change


def _zh(key: str) -> str:
    return i18n.text(key, "zh")


def _en(key: str) -> str:
    return i18n.text(key, "en")


@pytest.mark.parametrize(
    ("raw", "zh", "en"),
    [
        (None, "24 小时开放", "open 24 hours"),
        (
            {"weekly": [["08:00", "22:00"]] * 5 + [None, None]},
            "周一至周五 08:00–22:00；周六、周日 关闭",
            "Mon–Fri 08:00–22:00; Sat, Sun closed",
        ),
        (
            {"weekly": [["20:00", "08:00"], None] * 3 + [["00:00", "00:00"]]},
            "周一 20:00–08:00；周二 关闭；周三 20:00–08:00；周四 关闭；周五 20:00–08:00；"
            "周六 关闭；周日 全天",
            "Mon 20:00–08:00; Tue closed; Wed 20:00–08:00; Thu closed; Fri 20:00–08:00; "
            "Sat closed; Sun all day",
        ),
        (
            {
                "weekly": [["09:00", "17:00"]] * 7,
                "holidays": {"2026-10-02": ["10:00", "16:00"], "2026-10-01": None},
                "public_holidays": None,
            },
            "周一至周日 09:00–17:00；法定节假日 关闭；2026-10-01 关闭；2026-10-02 10:00–16:00",
            "Mon–Sun 09:00–17:00; public holidays closed; 2026-10-01 closed; "
            "2026-10-02 10:00–16:00",
        ),
    ],
)
def test_opening_hours_in_words(raw: dict[str, Any] | None, zh: str, en: str) -> None:
    assert describe_hours(raw, _zh) == zh
    assert describe_hours(raw, _en) == en


def test_a_rules_change_says_each_field_before_and_after() -> None:
    before = {"capacity": 8, "soft_limit": 0.8, "emergency": None, "opening_hours": None}
    after = {
        "capacity": 12,
        "soft_limit": 0.9,
        "emergency": "typhoon",
        "opening_hours": {"weekly": [None] * 7},
    }
    assert _line("rules_changed", before=before, after=after) == (
        "li",
        "修改站点规则",
        "容量：8 → 12；将满提醒线：80% → 90%；应急开放：无 → 台风；"
        "开放时间：24 小时开放 → 周一至周日 关闭",
    )
    assert _line("rules_changed", "en", before=before, after=after)[2] == (
        "capacity: 8 → 12; nearly-full mark: 80% → 90%; emergency free entry: none → typhoon; "
        "opening hours: open 24 hours → Mon–Sun closed"
    )


def test_fields_that_did_not_change_are_not_listed_and_new_ones_stand_alone() -> None:
    assert describe_change({"capacity": 8}, {"capacity": 8}, "zh") == ""
    assert describe_change({}, {"lockdown": True, "name": "西湖"}, "zh") == "封闭：是；名称：西湖"
    assert describe_change({"name": "a"}, {}, "en") == "name: a → none"
    assert describe_change({}, {"wifi_ssid": "x"}, "en") == "wifi_ssid: x"  # no word: as it is


@pytest.mark.parametrize(
    ("actor", "zh", "en"),
    [
        ("system:quiet-hour", "系统（夜间人数核对）", "system (night count check)"),
        ("station:st-1", "站点", "station"),
        ("system", "系统", "system"),
        ("zhang.wei", "zhang.wei", "zhang.wei"),
    ],
)
def test_who_did_it(actor: str, zh: str, en: str) -> None:
    assert _line("rules_changed", actor=actor)[0] == zh
    assert _line("rules_changed", "en", actor=actor)[0] == en


@pytest.mark.parametrize(
    ("action", "detail", "zh", "en"),
    [
        (
            "command_done",
            "command 5266aff7c0de4b1f: remote_unlock by admin: rider's phone died",
            "站点已执行：远程开门（admin 发起）",
            "the station did it: remote unlock (asked by admin)",
        ),
        (
            "command_refused",
            "command 5266aff7: remote_unlock: station in lockdown",
            "站点拒绝执行：远程开门（站点处于封闭状态）",
            "the station refused: remote unlock (the station is locked down)",
        ),
        (
            "command_refused",
            "command 5266aff7: set_mode: expired",
            "站点拒绝执行：切换模式（指令已过期）",
            "the station refused: mode set (expired)",
        ),
        (
            "command_refused",
            "command 5266aff7: lockdown: something new",
            "站点拒绝执行：封闭站点（something new）",
            "the station refused: lockdown (something new)",
        ),
        ("command_done", "garbled", "站点已执行一条指令", "the station did a command"),
    ],
)
def test_a_stations_answer_to_a_command_in_words(
    action: str, detail: str, zh: str, en: str
) -> None:
    assert _line(action, actor="station:st-1", detail=detail)[1] == zh
    assert _line(action, "en", actor="station:st-1", detail=detail)[1] == en


def test_the_alarm_and_the_rider_are_named_in_the_sentence() -> None:
    after = {"state": "resolved", "alarm_id": 7, "kind": "held_open"}
    assert _line("alarm_resolved", before={"state": "open"}, after=after)[1:] == (
        "处理完毕告警：门长时间未关（#7）",
        "状态：待确认 → 已处理",
    )
    assert _line("rider_revoked", rider_id="r-abc", before={"status": "active"},
                 after={"status": "revoked"})[1:] == (
        "停用骑手 r-abc，其通行码在所有站点失效",
        "状态：有效 → 已停用",
    )  # fmt: skip


def test_the_night_check_says_its_evidence() -> None:
    after = {"occupancy": 0, "closed": True, "door_quiet_h": 5.5, "door_quiet_min_h": 3.0}
    actor, what, change = _line(
        "occupancy_reconciled", actor="system:quiet-hour", before={"occupancy": 4}, after=after
    )
    assert actor == "系统（夜间人数核对）"
    assert what == "夜间人数核对：站点不在开放时间，门已至少 3.0 小时无人进出，在站人数归零"
    assert change == "在站人数：4 → 0"


def test_an_action_without_a_sentence_falls_back_to_its_code_word_or_itself() -> None:
    assert _line("notifier_added", after={"name": "夜班"})[1] == "添加告警通知 夜班"
    assert _line("occupancy_corrected")[1] == "校正在站人数"
    assert _line("brand_new_thing")[1] == "brand_new_thing"
