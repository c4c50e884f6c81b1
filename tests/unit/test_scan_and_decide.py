from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.credential import Claims, Rejected, raw_public_key, sign_token
from protocol.payloads import EventKind, Passage
from protocol.reasons import RIDER_MESSAGES, Reason, rider_message
from server.access import occupancy
from server.access.decide import RiderView, decide
from station_agent.core.scan import RecentScans, StationView, check_scan

KEY = Ed25519PrivateKey.generate()
NOW = 1_800_000_000
CLAIMS = Claims("k1", "r-1", "ws-test", NOW, 60, b"\x02" * 16, 1)
VIEW = StationView("station-01", "ws-test", {"k1": raw_public_key(KEY)}, config_version=1)


def test_station_checks_form_before_it_has_keys() -> None:
    assert check_scan("https://x", None, NOW) == Rejected(Reason.NOT_OUR_CODE)
    assert check_scan("WS1:" + "A" * 500, None, NOW) == Rejected(Reason.TOO_LONG)
    assert check_scan(sign_token(CLAIMS, KEY), None, NOW) == Rejected(Reason.NOT_CONFIGURED)


def test_station_verifies_with_its_view() -> None:
    assert check_scan(sign_token(CLAIMS, KEY), VIEW, NOW) == CLAIMS


def test_recent_scans_suppress_repeats_within_cooldown() -> None:
    recent = RecentScans.empty().record("a", 0, 3)
    assert recent.is_repeat("a", 2.9, 3)
    assert not recent.is_repeat("a", 3.0, 3)
    assert not recent.is_repeat("b", 1, 3)
    assert "a" not in recent.record("b", 10, 3).seen_at  # old entries are forgotten


RIDER = RiderView("r-1", credential_version=1, revoked=False)


@pytest.mark.parametrize(
    ("station_known", "credential", "rider", "nonce_used", "expected"),
    [
        (True, CLAIMS, RIDER, False, (True, Reason.GRANTED)),
        (False, CLAIMS, RIDER, False, (False, Reason.UNKNOWN_STATION)),
        (True, Rejected(Reason.EXPIRED), RIDER, False, (False, Reason.EXPIRED)),
        (True, CLAIMS, None, False, (False, Reason.UNKNOWN_RIDER)),
        (True, CLAIMS, RiderView("r-1", 1, revoked=True), False, (False, Reason.REVOKED)),
        (True, CLAIMS, RiderView("r-1", 2, revoked=False), False, (False, Reason.REVOKED)),
        (True, CLAIMS, RIDER, True, (False, Reason.REPLAYED)),
        (True, CLAIMS, RiderView("r-1", 1, revoked=True), True, (False, Reason.REVOKED)),
    ],
)
def test_decide(
    station_known: bool,
    credential: Claims | Rejected,
    rider: RiderView | None,
    nonce_used: bool,
    expected: tuple[bool, Reason],
) -> None:
    verdict = decide(
        station_known=station_known, credential=credential, rider=rider, nonce_used=nonce_used
    )
    assert (verdict.allowed, verdict.reason) == expected


def test_occupancy_counts_entries_and_exits_never_below_zero() -> None:
    count = 0
    for kind, passage in [
        (EventKind.DOOR_OPENED, Passage.ENTRY),
        (EventKind.DOOR_CLOSED, None),
        (EventKind.DOOR_OPENED, Passage.UNKNOWN),
        (EventKind.ACCESS_GRANTED, None),
    ]:
        count = occupancy.apply(count, kind, passage)
    assert count == 1
    count = occupancy.apply(count, EventKind.DOOR_OPENED, Passage.EXIT)
    assert occupancy.apply(count, EventKind.DOOR_OPENED, Passage.EXIT) == 0


def test_every_reason_has_rider_words_in_both_languages() -> None:
    assert set(RIDER_MESSAGES) == set(Reason)
    for reason in Reason:
        assert rider_message(reason)
        assert rider_message(reason, "en")


def test_denylisted_versions_are_refused_at_the_station() -> None:
    token = sign_token(CLAIMS, KEY)  # credential version 1
    revoked = StationView(
        "station-01", "ws-test", {"k1": raw_public_key(KEY)}, 2, denylist={"r-1": 2}
    )
    assert check_scan(token, revoked, NOW) == Rejected(Reason.REVOKED)
    renewed = StationView(
        "station-01", "ws-test", {"k1": raw_public_key(KEY)}, 2, denylist={"r-1": 1}
    )
    assert check_scan(token, renewed, NOW) == CLAIMS
