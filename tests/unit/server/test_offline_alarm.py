from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.alarms.offline import offline_alarm_due

WENT = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
TEN = timedelta(minutes=10)


def test_an_alarm_once_the_station_has_been_offline_long_enough() -> None:
    assert not offline_alarm_due(online=False, changed_at=WENT, last_alarm_at=None,
                                 now=WENT + TEN - timedelta(seconds=1), after=TEN)  # fmt: skip
    assert offline_alarm_due(online=False, changed_at=WENT, last_alarm_at=None,
                             now=WENT + TEN, after=TEN)  # fmt: skip


def test_one_alarm_per_offline_spell() -> None:
    raised = WENT + TEN
    assert not offline_alarm_due(online=False, changed_at=WENT, last_alarm_at=raised,
                                 now=WENT + 5 * TEN, after=TEN)  # fmt: skip
    # Offline again later: a new spell, a new alarm.
    again = WENT + 10 * TEN
    assert offline_alarm_due(online=False, changed_at=again, last_alarm_at=raised,
                             now=again + TEN, after=TEN)  # fmt: skip


def test_never_for_a_station_online_or_never_seen() -> None:
    assert not offline_alarm_due(online=True, changed_at=WENT, last_alarm_at=None,
                                 now=WENT + 9 * TEN, after=TEN)  # fmt: skip
    assert not offline_alarm_due(online=False, changed_at=None, last_alarm_at=None,
                                 now=WENT, after=TEN)  # fmt: skip
