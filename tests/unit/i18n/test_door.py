"""The door's words for a refusal with the rider's next step: the nearest station with room and
how far, when this one reopens, the hotline; short enough for the door's screen."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import i18n
from i18n.door import DEAD_ENDS, MAX_DOOR_CHARS
from protocol.reasons import DEAD_ENDS as PROTOCOL_DEAD_ENDS
from protocol.reasons import NEARBY_MAX_M, DoorHint, Reason

CHINA = ZoneInfo("Asia/Shanghai")
DECIDED = datetime(2026, 12, 1, 23, 10, tzinfo=CHINA)


def test_the_words_know_the_same_dead_ends_as_the_contract() -> None:
    assert {reason.value for reason in PROTOCOL_DEAD_ENDS} == DEAD_ENDS


@pytest.mark.parametrize(
    ("reason", "zh", "en"),
    [
        (
            Reason.STATION_FULL,
            "本站已满。北山驿站有空位，距此800米",
            "Station full. 北山驿站 has room, 800 m away",
        ),
        (
            Reason.MAINTENANCE,
            "本站维护中。北山驿站有空位，距此800米",
            "Closed for maintenance. 北山驿站 has room, 800 m away",
        ),
        (
            Reason.LOCKDOWN,
            "本站暂时关闭。北山驿站有空位，距此800米",
            "Station closed for now. 北山驿站 has room, 800 m away",
        ),
        (
            Reason.CLOSED_NOW,
            "本站现在不开放。北山驿站有空位，距此800米",
            "Closed now. 北山驿站 has room, 800 m away",
        ),
    ],
)
def test_each_dead_end_names_the_nearest_station_with_room(
    reason: Reason, zh: str, en: str
) -> None:
    hint = DoorHint(nearby="北山驿站", nearby_distance_m=820, hotline="12351")
    assert i18n.door_message(reason, "zh", hint) == zh
    assert i18n.door_message(reason, "en", hint) == en


@pytest.mark.parametrize(
    ("reopens", "zh", "en"),
    [
        (DECIDED.replace(hour=23, minute=30), "本站23:30开放", "Closed. Opens at 23:30"),
        (DECIDED + timedelta(hours=9), "本站明天08:10开放", "Closed. Opens tomorrow at 08:10"),
        (
            datetime(2026, 12, 8, 8, 0, tzinfo=CHINA),
            "本站12月8日08:00开放",
            "Closed. Opens on 12/8 at 08:00",
        ),
    ],
    ids=["today", "tomorrow", "later"],
)
def test_a_station_closed_by_its_hours_says_when_it_opens(
    reopens: datetime, zh: str, en: str
) -> None:
    hint = DoorHint(reopens_at=reopens, decided_at=DECIDED)
    assert i18n.door_message(Reason.CLOSED_NOW, "zh", hint) == zh
    assert i18n.door_message(Reason.CLOSED_NOW, "en", hint) == en
    nearby = DoorHint(reopens_at=reopens, decided_at=DECIDED, nearby="西湖站", nearby_distance_m=2)
    assert i18n.door_message(Reason.CLOSED_NOW, "zh", nearby) == zh + "。西湖站有空位，距此50米"


def test_the_day_is_the_station_s_own_not_utc() -> None:
    decided = datetime(2026, 12, 1, 16, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 on the 2nd in China
    hint = DoorHint(reopens_at=datetime(2026, 12, 2, 8, 0, tzinfo=CHINA), decided_at=decided)
    assert i18n.door_message(Reason.CLOSED_NOW, "zh", hint) == "本站08:00开放"


@pytest.mark.parametrize(
    ("metres", "shown"),
    [(0, "50米"), (970, "950米"), (990, "1.0公里"), (1_240, "1.2公里"), (12_400, "12公里")],
)
def test_distances_are_rounded_for_reading(metres: int, shown: str) -> None:
    hint = DoorHint(nearby="北山驿站", nearby_distance_m=metres)
    assert i18n.door_message(Reason.STATION_FULL, "zh", hint).endswith(f"距此{shown}")


def test_without_a_station_with_room_the_hotline_is_the_next_step() -> None:
    hint = DoorHint(hotline="12351")
    assert i18n.door_message(Reason.LOCKDOWN, "zh", hint) == "本站暂时关闭。求助热线 12351"
    assert i18n.door_message(Reason.STATION_FULL, "en", hint) == "Station full. Hotline 12351"


@pytest.mark.parametrize(
    "reason",
    [Reason.REVOKED, Reason.UNKNOWN_RIDER, Reason.UNKNOWN_STATION, Reason.ANTI_PASSBACK],
)
def test_the_hotline_replaces_ask_staff(reason: Reason) -> None:
    assert "工作人员" in i18n.door_message(reason, "zh")  # no number known: as before
    said = i18n.door_message(reason, "zh", DoorHint(hotline="400-810-5151"))
    assert "工作人员" not in said
    assert said.endswith("请致电 400-810-5151")
    assert i18n.door_message(reason, "en", DoorHint(hotline="12351")).endswith("call 12351")


def test_without_a_hint_or_for_other_reasons_the_words_are_the_reason_s() -> None:
    for reason in Reason:
        assert i18n.door_message(reason, "zh") == i18n.rider_message(reason)
    hint = DoorHint(nearby="北山驿站", nearby_distance_m=800, hotline="12351")
    assert i18n.door_message(Reason.EXPIRED, "zh", hint) == i18n.rider_message(Reason.EXPIRED)


def test_a_name_is_text_cut_to_fit_never_a_template() -> None:
    hint = DoorHint(nearby="{station}站" + "长" * 30, nearby_distance_m=800)
    said = i18n.door_message(Reason.STATION_FULL, "zh", hint)
    assert said == "本站已满。{station}站长…有空位，距此800米"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("reason", list(Reason))
def test_every_message_fits_the_door_screen(reason: Reason, language: str) -> None:
    worst = [
        DoorHint(
            nearby="W" * 80,
            nearby_distance_m=NEARBY_MAX_M,
            reopens_at=datetime(2026, 12, 28, 23, 59, tzinfo=CHINA),
            decided_at=DECIDED,
            hotline="+86 (0571) 8888-8888",
        ),
        DoorHint(hotline="+86 (0571) 8888-8888"),
        None,
    ]
    for hint in worst:
        said = i18n.door_message(reason, language, hint)
        assert len(said) <= MAX_DOOR_CHARS[language], said
