"""A code opens the door at most once, whatever ``decision_timeout_s`` and ``scan_cooldown_s``
are: a code held up again while its first request is still waiting asks nothing new, and a
code used up meanwhile is refused at the grant. In memory, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.display import Shown
from protocol.payloads import DecidedBy, EventKind
from protocol.reasons import Reason
from station_agent.inbox import LinkChanged
from tests.unit.station_agent.rig import Rig, decision, token


def _grants(rig: Rig) -> int:
    return len(rig.events(EventKind.ACCESS_GRANTED))


def _shown_granted(rig: Rig) -> int:
    return sum(shown.allowed for shown in rig.shown)


def _allow(rig: Rig, request_id: str) -> None:
    now = rig.clock()
    rig.send(decision(request_id, decided_at=now, expires_at=now + 5))


SLOW_SERVER = {"decision_timeout_s": 5.0, "scan_cooldown_s": 1.0}  # timeout > cooldown


def test_a_code_held_up_past_its_cooldown_while_its_request_waits_asks_once() -> None:
    rig = Rig.build(**SLOW_SERVER)
    text, _ = token()
    rig.scan(text)
    rig.turn(1.5)  # past the cooldown, well inside the timeout
    rig.scan(text)
    rig.turn(1.5)
    rig.scan(text)

    assert len(rig.transport.requests) == 1
    assert rig.shown == []  # the rider waits for the one answer, not a refusal
    rig.turn(5.0)  # the server never answers: the station decides, once
    assert _grants(rig) == 1
    assert rig.lock.unlock_count == 1

    rig.turn(1.5)
    rig.scan(text)
    assert rig.shown[-1] == Shown(allowed=False, reason=Reason.REPLAYED)
    assert _grants(rig) == 1


def test_the_servers_allow_after_a_rescan_admits_once() -> None:
    rig = Rig.build(**SLOW_SERVER)
    text, _ = token()
    rig.scan(text)
    first = rig.last_request_id
    rig.turn(2.0)
    rig.scan(text)

    _allow(rig, first)
    rig.turn(6.0)  # no second request left behind to time out into an offline grant

    assert [r.request_id for r in rig.transport.requests] == [first]
    assert _grants(rig) == 1
    assert rig.events(EventKind.ACCESS_GRANTED)[0].decided_by is DecidedBy.SERVER


def test_a_late_allow_after_the_station_decided_changes_nothing() -> None:
    rig = Rig.build(**SLOW_SERVER)
    text, _ = token()
    rig.scan(text)
    request_id = rig.last_request_id
    rig.turn(5.1)  # decided offline
    _allow(rig, request_id)
    assert _grants(rig) == 1
    assert rig.lock.unlock_count == 1


def test_a_link_lost_while_a_rescan_waits_grants_once() -> None:
    rig = Rig.build(**SLOW_SERVER)
    text, _ = token()
    rig.scan(text)
    rig.turn(2.0)
    rig.scan(text)
    rig.send(LinkChanged(connected=False))  # every pending request decided at once
    rig.turn(1.5)
    rig.scan(text)  # now offline: decided at once, and refused as used

    assert _grants(rig) == 1
    assert rig.shown[-1].reason is Reason.REPLAYED


@pytest.mark.parametrize("answer", ["server allows", "station decides"])
def test_a_code_used_up_while_its_request_waited_is_refused_at_the_grant(answer: str) -> None:
    """The last check before the lock moves reads the replay cache again."""
    rig = Rig.build(**SLOW_SERVER)
    text, claims = token()
    rig.scan(text)
    rig.store.replay[claims.nonce] = claims.expires_at + 30  # used meanwhile, somehow

    if answer == "server allows":
        _allow(rig, rig.last_request_id)
    else:
        rig.turn(5.1)

    assert _grants(rig) == 0
    assert rig.lock.unlock_count == 0
    assert rig.shown == [Shown(allowed=False, reason=Reason.REPLAYED)]
    [denied] = rig.events(EventKind.ACCESS_DENIED)
    assert (denied.reason, denied.decided_by) == (Reason.REPLAYED, DecidedBy.STATION)


@pytest.mark.parametrize("cooldown", [0.0, 0.3, 1.0, 10.0])
def test_a_server_that_allows_everything_still_opens_once_per_code(cooldown: float) -> None:
    """The station's own guarantee, even if the server forgot the code was used."""
    rig = Rig.build(decision_timeout_s=2.0, scan_cooldown_s=cooldown)
    text, _ = token()
    answered: set[str] = set()
    for _ in range(40):  # 4 s of frames with the phone held up
        rig.scan(text)
        for request in rig.transport.requests:
            if request.request_id not in answered:
                answered.add(request.request_id)
                _allow(rig, request.request_id)
    assert _grants(rig) == 1
    assert _shown_granted(rig) == 1


_ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["scan", "allow", "deny", "wait", "link_down", "link_up"]),
        st.floats(0, 8),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(
    timeout=st.floats(0.05, 30),
    cooldown=st.floats(0, 60),
    actions=_ACTIONS,
)
def test_one_code_never_opens_twice(
    timeout: float, cooldown: float, actions: list[tuple[str, float]]
) -> None:
    rig = Rig.build(decision_timeout_s=timeout, scan_cooldown_s=cooldown)
    text, _ = token(lifetime_s=120)
    answered = 0  # the server answers requests in order, allowing or refusing
    for action, dt in actions:
        if action == "scan":
            rig.turn(dt)
            rig.scan(text)
        elif action in ("allow", "deny") and answered < len(rig.transport.requests):
            request_id = rig.transport.requests[answered].request_id
            answered += 1
            now = rig.clock()
            rig.send(
                decision(
                    request_id,
                    allowed=action == "allow",
                    reason=Reason.GRANTED if action == "allow" else Reason.STATION_FULL,
                    decided_at=now,
                    expires_at=now + 5,
                )
            )
        elif action in ("link_down", "link_up"):
            rig.send(LinkChanged(connected=action == "link_up"))
        else:
            rig.turn(dt)
        assert _grants(rig) <= 1
        assert _shown_granted(rig) <= 1
    rig.turn(timeout + 0.1)  # whatever was still waiting is decided now
    assert _grants(rig) <= 1
    assert _shown_granted(rig) <= 1
