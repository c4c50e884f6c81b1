"""The access flow through the agent's loop: scan → local check → request → the server's
decision or the station's own → grant or deny. In memory, on a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

import i18n
from firmware_sim.display import Shown
from protocol.payloads import DecidedBy, EventKind, StationConfig, StationMode
from protocol.reasons import DoorHint, Reason
from station_agent.inbox import AgentInput, ConfigArrived, LinkChanged, TrustArrived
from tests.unit.station_agent.rig import (
    NOW,
    STATION,
    Rig,
    config,
    configure,
    decision,
    denylist_pages,
    keys_page,
    token,
)


def test_a_valid_code_is_asked_about_and_an_allow_unlocks_once() -> None:
    rig = Rig.build()
    text, claims = token()
    rig.scan(text)

    [request] = rig.transport.requests
    assert (request.station_id, request.token) == (STATION, text)
    assert rig.lock.unlock_count == 0  # nothing moves before the server answers
    allow = decision(request.request_id, expires_at=NOW + 60)
    rig.send(allow)

    assert rig.lock.unlocked
    assert rig.shown == [Shown(allowed=True, reason=Reason.GRANTED)]
    [granted] = rig.events(EventKind.ACCESS_GRANTED)
    assert granted.request_id == request.request_id
    assert (granted.rider_id, granted.decided_by) == ("r-1", DecidedBy.SERVER)
    assert granted.nonce == claims.nonce.hex()
    assert rig.store.seen(claims.nonce, rig.clock())  # used up, durably

    rig.turn(rig.settings.unlock_s + 0.1)
    assert not rig.lock.unlocked  # nobody came through: relocked
    rig.send(allow)  # the same decision again, still valid: a re-delivery or a replay
    rig.turn(rig.settings.decision_timeout_s + 0.1)  # and no offline decision later either
    assert rig.lock.unlock_count == 1
    assert len(rig.events(EventKind.ACCESS_GRANTED)) == 1
    assert len(rig.shown) == 1


@pytest.mark.parametrize("stray", ["unknown request", "another station", "expired"])
def test_a_decision_that_matches_no_pending_request_does_nothing(stray: str) -> None:
    rig = Rig.build()
    text, _ = token()
    rig.scan(text)
    request_id = rig.last_request_id
    arrived = {
        "unknown request": decision(uuid.uuid4().hex),
        "another station": decision(request_id, station_id="station-02"),
        "expired": decision(request_id, expires_at=NOW),
    }[stray]

    rig.send(arrived)

    assert rig.lock.unlock_count == 0
    assert rig.shown == []
    assert rig.events() == []
    rig.send(decision(request_id))  # the request is still waiting for its own answer
    assert rig.lock.unlock_count == 1


def test_a_refusal_from_the_server_is_shown_with_the_nearest_station() -> None:
    rig = Rig.build()
    text, _ = token()
    rig.scan(text)

    rig.send(
        decision(
            rig.last_request_id,
            allowed=False,
            reason=Reason.STATION_FULL,
            nearby="北山驿站",
            nearby_distance_m=820,
        )
    )

    assert rig.lock.unlock_count == 0
    [shown] = rig.shown
    assert (shown.allowed, shown.reason, shown.nearby) == (False, Reason.STATION_FULL, "北山驿站")
    assert shown.text == "本站已满。北山驿站有空位，距此800米"
    [denied] = rig.events(EventKind.ACCESS_DENIED)
    assert (denied.reason, denied.decided_by, denied.rider_id) == (
        Reason.STATION_FULL,
        DecidedBy.SERVER,
        "r-1",
    )


def test_no_answer_in_time_and_the_station_decides_itself() -> None:
    rig = Rig.build()
    text, _ = token()
    rig.scan(text)
    request_id = rig.last_request_id

    rig.turn(rig.settings.decision_timeout_s - 0.1)
    assert rig.lock.unlock_count == 0  # still waiting for the server
    rig.turn(0.2)

    assert rig.lock.unlocked
    [granted] = rig.events(EventKind.ACCESS_GRANTED)
    assert (granted.request_id, granted.decided_by) == (request_id, DecidedBy.STATION)
    rig.send(decision(request_id))  # the server's late answer changes nothing
    assert len(rig.events(EventKind.ACCESS_GRANTED)) == 1


STALE = NOW - 86_401  # the default max_denylist_age_s is a day


@pytest.mark.parametrize(
    ("settings", "update", "refusal"),
    [
        ({}, None, None),
        ({}, configure(2, issued_at=STALE), Reason.DENYLIST_STALE),
        # One bucket of the denylist stale is the denylist stale.
        ({}, [TrustArrived(denylist_pages(2, issued_at=STALE)[7])], Reason.DENYLIST_STALE),
        ({"offline_entry": "deny"}, None, Reason.SERVER_UNAVAILABLE),
        ({}, configure(2, issued_at=STALE, mode=StationMode.FREE_ENTRY), None),
    ],
    ids=["trusted", "stale denylist", "one stale bucket", "offline entry off", "free entry"],
)
def test_the_station_decides_offline_only_while_it_can_trust_itself(
    settings: dict[str, Any], update: list[AgentInput] | None, refusal: Reason | None
) -> None:
    rig = Rig.build(**settings)
    if update is not None:
        rig.send(*update)
    text, _ = token()
    rig.scan(text)
    rig.turn(rig.settings.decision_timeout_s + 0.1)

    if refusal is None:  # in free entry even when unsure: shelter comes first
        assert rig.lock.unlock_count == 1
        [granted] = rig.events(EventKind.ACCESS_GRANTED)
        assert granted.decided_by is DecidedBy.STATION
        return
    assert rig.lock.unlock_count == 0
    assert rig.shown == [Shown(allowed=False, reason=refusal)]
    [denied] = rig.events(EventKind.ACCESS_DENIED)
    assert (denied.reason, denied.decided_by) == (refusal, DecidedBy.STATION)
    assert (denied.request_id, denied.rider_id) == (rig.last_request_id, "r-1")


@pytest.mark.parametrize("mode", [StationMode.NORMAL, StationMode.FREE_ENTRY])
def test_a_station_whose_clock_the_server_disputes_refuses_offline(mode: StationMode) -> None:
    rig = Rig.build()
    rig.send(ConfigArrived(config(2, mode=mode)))
    first, _ = token("r-1")
    rig.scan(first)
    rig.send(decision(rig.last_request_id, decided_at=NOW + 120))  # the server is 2 min ahead
    assert rig.agent.state.clock_offset_s == pytest.approx(120 - 0.1)

    second, _ = token("r-2")
    rig.scan(second)
    rig.turn(rig.settings.decision_timeout_s + 0.1)

    if mode is StationMode.FREE_ENTRY:  # shelter first, even with a doubtful clock
        granted = rig.events(EventKind.ACCESS_GRANTED)[-1]
        assert (granted.rider_id, granted.decided_by) == ("r-2", DecidedBy.STATION)
        return
    [denied] = rig.events(EventKind.ACCESS_DENIED)
    assert (denied.reason, denied.rider_id) == (Reason.CLOCK_UNTRUSTED, "r-2")


def test_with_the_link_down_the_station_decides_at_once() -> None:
    rig = Rig.build(connected=False)
    text, _ = token()
    rig.scan(text)

    assert rig.transport.requests == []
    assert rig.lock.unlocked
    [granted] = rig.events(EventKind.ACCESS_GRANTED)
    assert granted.decided_by is DecidedBy.STATION


def test_requests_pending_when_the_link_drops_are_decided_at_once() -> None:
    rig = Rig.build()
    text, _ = token()
    rig.scan(text)
    request_id = rig.last_request_id

    rig.send(LinkChanged(connected=False))

    assert rig.lock.unlocked
    [granted] = rig.events(EventKind.ACCESS_GRANTED)
    assert (granted.request_id, granted.decided_by) == (request_id, DecidedBy.STATION)


@pytest.mark.parametrize(
    ("code", "update", "expected"),
    [
        (lambda: "https://example.com/pay", None, Reason.NOT_OUR_CODE),
        (lambda: token(issued_at=NOW - 600)[0], None, Reason.EXPIRED),
        (
            lambda: token(credential_version=1)[0],
            configure(2, denylist={"r-1": 2}),
            Reason.REVOKED,
        ),
    ],
    ids=["not ours", "expired", "revoked"],
)
def test_the_station_refuses_without_asking_when_it_can(
    code: Callable[[], str], update: list[AgentInput] | None, expected: Reason
) -> None:
    rig = Rig.build()
    if update is not None:
        rig.send(*update)
    rig.scan(code())

    assert rig.transport.requests == []
    assert rig.lock.unlock_count == 0
    assert rig.shown == [Shown(allowed=False, reason=expected)]
    [denied] = rig.events(EventKind.ACCESS_DENIED)
    assert (denied.reason, denied.decided_by) == (expected, DecidedBy.STATION)


def test_an_unconfigured_station_refuses_genuine_codes() -> None:
    rig = Rig.build(configured=False)
    text, _ = token()
    rig.scan(text)
    assert rig.shown == [Shown(allowed=False, reason=Reason.NOT_CONFIGURED)]


def test_a_code_that_admitted_someone_is_refused_afterwards() -> None:
    rig = Rig.build(connected=False, scan_cooldown_s=0)
    text, _ = token()
    rig.scan(text)
    rig.scan(text)

    assert [shown.reason for shown in rig.shown] == [Reason.GRANTED, Reason.REPLAYED]
    assert rig.lock.unlock_count == 1


def test_a_code_held_up_is_read_once_per_cooldown_and_may_try_again_after_a_refusal() -> None:
    rig = Rig.build()
    text, _ = token()
    rig.scan(text)
    rig.scan(text)  # the next frame: the same phone
    assert len(rig.transport.requests) == 1
    full = decision(rig.last_request_id, allowed=False, reason=Reason.STATION_FULL)
    rig.send(full)

    rig.turn(rig.settings.scan_cooldown_s)
    rig.scan(text)  # only a grant uses a code up: the rider tries again when a place frees
    assert len(rig.transport.requests) == 2


def test_a_flood_of_bad_codes_becomes_a_few_events_and_a_count() -> None:
    rig = Rig.build(denial_events_burst=2, denial_events_per_s=1.0)
    rig.scan(*(f"junk-{i}" for i in range(5)))

    assert len(rig.shown) == 5  # every rider still sees why
    assert len(rig.events(EventKind.ACCESS_DENIED)) == 2
    rig.turn(1.0)
    rig.scan("junk-5")
    last = rig.events(EventKind.ACCESS_DENIED)[-1]
    assert last.suppressed == 3


CLOSED_TO_EVERYONE = [
    pytest.param(config(2, lockdown=True), Reason.LOCKDOWN, id="lockdown"),
    pytest.param(config(2, mode=StationMode.MAINTENANCE), Reason.MAINTENANCE, id="maintenance"),
]


@pytest.mark.parametrize(("standing", "reason"), CLOSED_TO_EVERYONE)
def test_a_closed_station_asks_the_server_only_for_the_next_step(
    standing: StationConfig, reason: Reason
) -> None:
    rig = Rig.build()
    rig.send(ConfigArrived(standing), TrustArrived(keys_page(2, hotline="12351")))
    text, _ = token()
    rig.scan(text)
    [request] = rig.transport.requests
    assert rig.shown == []  # waiting for the next step

    # Even a grant (the server not yet told, say) does not open a closed station.
    rig.send(decision(request.request_id, nearby="北山驿站", nearby_distance_m=1_240))

    assert rig.lock.unlock_count == 0
    [shown] = rig.shown
    assert (shown.allowed, shown.reason) == (False, reason)
    assert shown.text.endswith("北山驿站有空位，距此1.2公里")
    [denied] = rig.events(EventKind.ACCESS_DENIED)
    assert (denied.reason, denied.decided_by) == (reason, DecidedBy.STATION)
    assert rig.events(EventKind.ACCESS_GRANTED) == []


@pytest.mark.parametrize(("standing", "reason"), CLOSED_TO_EVERYONE)
def test_a_closed_station_refuses_without_the_server_and_names_the_hotline(
    standing: StationConfig, reason: Reason
) -> None:
    rig = Rig.build()
    rig.send(ConfigArrived(standing), TrustArrived(keys_page(2, hotline="12351")))
    rig.scan(token("r-1")[0])
    rig.turn(rig.settings.decision_timeout_s + 0.1)  # no answer: no offline grant either
    rig.send(LinkChanged(connected=False))
    rig.scan(token("r-2")[0])  # no link: refused at once, nothing asked

    assert len(rig.transport.requests) == 1
    assert rig.lock.unlock_count == 0
    assert [(s.reason, s.text) for s in rig.shown] == [
        (reason, f"{i18n.door_message(reason, 'zh', DoorHint(hotline='12351'))}")
    ] * 2
    assert rig.shown[0].text.endswith("求助热线 12351")
    assert [e.reason for e in rig.events(EventKind.ACCESS_DENIED)] == [reason, reason]
