"""The server's credential decision, and the per-event occupancy rule."""

from __future__ import annotations

import pytest

from protocol.credential import Claims, Rejected
from protocol.payloads import EventKind, Passage
from protocol.reasons import Reason
from server.access.decide import RiderView, decide
from server.events import occupancy

NOW = 1_800_000_000
CLAIMS = Claims("k1", "r-1", "ws-test", NOW, 60, b"\x02" * 16, 1)
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
