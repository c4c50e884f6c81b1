"""decide(): the server's access decision, a plain function over what it knows. No I/O."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.credential import Claims, Rejected
from protocol.reasons import Reason


@dataclass(frozen=True, slots=True)
class RiderView:
    rider_id: str
    credential_version: int
    revoked: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: Reason
    rider_id: str | None = None


def decide(
    *,
    station_known: bool,
    credential: Claims | Rejected,
    rider: RiderView | None,
    nonce_used: bool,
) -> Verdict:
    """Denial is a value: the first failing check names the reason."""
    if not station_known:
        return Verdict(False, Reason.UNKNOWN_STATION)
    if isinstance(credential, Rejected):
        return Verdict(False, credential.reason)
    if rider is None:
        return Verdict(False, Reason.UNKNOWN_RIDER, credential.rider_id)
    if rider.revoked or credential.credential_version != rider.credential_version:
        return Verdict(False, Reason.REVOKED, rider.rider_id)
    if nonce_used:
        return Verdict(False, Reason.REPLAYED, rider.rider_id)
    return Verdict(True, Reason.GRANTED, rider.rider_id)
