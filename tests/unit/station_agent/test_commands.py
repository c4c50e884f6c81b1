from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.payloads import CommandKind, StationMode
from station_agent.core.commands import (
    DEFAULT_MAX_AHEAD_S,
    Command,
    CommandRefusal,
    accept_command,
)

NOW = 1_800_000_000.0
UNLOCK = Command(
    command_id="c-1",
    station_id="station-01",
    kind=CommandKind.REMOTE_UNLOCK,
    issued_at=NOW - 1,
    expires_at=NOW + 10,
    issued_by="staff-li",
    reason="rider's phone is flat, identity checked by video",
)


def _check(command: Command, *, retained: bool = False, now: float = NOW) -> CommandRefusal | None:
    return accept_command(
        command, station_id="station-01", retained=retained, now=now, seen={}
    ).refusal


def test_a_fresh_command_for_this_station_is_accepted_and_remembered() -> None:
    check = accept_command(UNLOCK, station_id="station-01", retained=False, now=NOW, seen={})
    assert check.accepted
    assert check.seen == {"c-1": NOW + 10}


@pytest.mark.parametrize(
    ("command", "retained", "now", "refusal"),
    [
        (UNLOCK, True, NOW, CommandRefusal.RETAINED),
        (replace(UNLOCK, station_id="station-02"), False, NOW, CommandRefusal.WRONG_STATION),
        (UNLOCK, False, NOW + 10.001, CommandRefusal.EXPIRED),
        (
            replace(UNLOCK, expires_at=NOW + DEFAULT_MAX_AHEAD_S + 1),
            False,
            NOW,
            CommandRefusal.TOO_FAR_AHEAD,
        ),
        (replace(UNLOCK, issued_by=" "), False, NOW, CommandRefusal.INCOMPLETE),
        (replace(UNLOCK, reason=""), False, NOW, CommandRefusal.INCOMPLETE),
        (replace(UNLOCK, command_id=""), False, NOW, CommandRefusal.INCOMPLETE),
        (replace(UNLOCK, kind=CommandKind.SET_MODE), False, NOW, CommandRefusal.INCOMPLETE),
        (
            replace(UNLOCK, kind=CommandKind.LOCKDOWN, mode=StationMode.NORMAL),
            False,
            NOW,
            CommandRefusal.INCOMPLETE,
        ),
        # The cheapest, least trusting check names the reason when several fail.
        (replace(UNLOCK, station_id="x", reason=""), True, NOW + 99, CommandRefusal.RETAINED),
        (replace(UNLOCK, station_id="x", reason=""), False, NOW, CommandRefusal.WRONG_STATION),
    ],
)
def test_refusals(command: Command, retained: bool, now: float, refusal: CommandRefusal) -> None:
    assert _check(command, retained=retained, now=now) is refusal


def test_every_kind_with_its_mode_rule_is_accepted() -> None:
    for kind in CommandKind:
        mode = StationMode.FREE_ENTRY if kind is CommandKind.SET_MODE else None
        assert _check(replace(UNLOCK, kind=kind, mode=mode)) is None


def test_a_command_is_valid_until_the_second_it_expires() -> None:
    assert _check(UNLOCK, now=NOW + 10) is None
    assert _check(replace(UNLOCK, expires_at=NOW + DEFAULT_MAX_AHEAD_S)) is None


def test_a_repeated_command_is_refused_and_refusals_are_not_remembered() -> None:
    first = accept_command(UNLOCK, station_id="station-01", retained=False, now=NOW, seen={})
    again = accept_command(
        UNLOCK, station_id="station-01", retained=False, now=NOW + 1, seen=first.seen
    )
    assert again.refusal is CommandRefusal.REPEATED
    assert again.seen == first.seen
    other = replace(UNLOCK, command_id="c-2", station_id="station-02")
    refused = accept_command(
        other, station_id="station-01", retained=False, now=NOW, seen=first.seen
    )
    assert "c-2" not in refused.seen


def test_seen_ids_are_forgotten_once_their_command_has_expired() -> None:
    first = accept_command(UNLOCK, station_id="station-01", retained=False, now=NOW, seen={})
    later = replace(UNLOCK, command_id="c-2", expires_at=NOW + 30)
    check = accept_command(
        later, station_id="station-01", retained=False, now=NOW + 11, seen=first.seen
    )
    assert check.seen == {"c-2": NOW + 30}
    # The old one can no longer act: it is refused as expired, not as repeated.
    assert _check(UNLOCK, now=NOW + 11) is CommandRefusal.EXPIRED


_DELIVERIES = st.lists(
    st.tuples(st.integers(0, 4), st.floats(0, 20), st.booleans()), min_size=1, max_size=40
)


@given(_DELIVERIES)
def test_each_command_acts_at_most_once_however_often_it_arrives(
    deliveries: list[tuple[int, float, bool]],
) -> None:
    """Redelivered (QoS 1), replayed, late: one command id actuates at most once, and the
    memory never holds more than the commands still valid."""
    commands = [replace(UNLOCK, command_id=f"c-{n}", expires_at=NOW + 5 * n) for n in range(5)]
    now = NOW
    seen: dict[str, float] = {}
    acted: list[int] = []
    for which, gap, retained in deliveries:
        now += gap
        check = accept_command(
            commands[which], station_id="station-01", retained=retained, now=now, seen=seen
        )
        if check.accepted:
            acted.append(which)
            assert not retained
            assert commands[which].expires_at >= now
        seen = dict(check.seen)
        assert all(until >= now for until in seen.values())
    assert len(acted) == len(set(acted))
