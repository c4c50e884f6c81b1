"""Handler for ``access/request``: verify, decide, record, answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from protocol.codes import verify_code
from protocol.credential import DEFAULT_SKEW_S, Claims, KeySet
from protocol.payloads import AccessDecision, AccessRequest
from protocol.reasons import DEAD_ENDS, Reason
from server.access import repo
from server.access.decide import RiderView, Verdict, decide
from server.access.next_step import NextStep, next_step
from server.access.policy import AdmissionInput, admit
from server.events.stays import inside_since
from server.riders.repo import get_rider
from server.stations.repo import get_station
from server.stations.rules import rules_of


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    keys: KeySet
    audience: str
    decision_ttl_s: int


def handle_access_request(
    session: Session, *, request: AccessRequest, policy: AccessPolicy, now: float
) -> AccessDecision:
    """The decision for one request; a repeated request id gets the same answer again (the
    stored one: ``repo.record_decision`` finds it when it cannot store a second; repeats are
    rare, so the common case saves a query)."""
    decided_at = datetime.fromtimestamp(now, UTC)
    expires_at = decided_at + timedelta(seconds=policy.decision_ttl_s)
    # A server token or a device code: either way the rider's credential version, revocation
    # and the nonce are checked here, as for any code (so a device code is single-use too).
    credential = verify_code(request.token, keys=policy.keys, audience=policy.audience, now=now)
    rider_view, nonce, nonce_used = None, None, False
    if isinstance(credential, Claims):
        nonce = credential.nonce.hex()
        nonce_used = repo.nonce_used(session, nonce=nonce)
        rider = get_rider(session, rider_id=credential.rider_id)
        if rider is not None:
            revoked = rider.revoked_at is not None
            rider_view = RiderView(rider.id, rider.credential_version, revoked)
    station = get_station(session, station_id=request.station_id)
    verdict = decide(
        station_known=station is not None,
        credential=credential,
        rider=rider_view,
        nonce_used=nonce_used,
    )
    flags: tuple[str, ...] = ()
    step = NextStep()
    if verdict.allowed and station is not None and verdict.rider_id is not None:
        # The credential is good; now the station's own rules.
        admission = admit(
            AdmissionInput(
                rider_id=verdict.rider_id,
                occupancy=station.occupancy,
                inside_since=inside_since(
                    session, rider_id=verdict.rider_id, station_id=station.id
                ),
            ),
            rules_of(station),
            now,
        )
        flags = tuple(flag.value for flag in admission.flags)
        if not admission.allowed:
            verdict = Verdict(False, admission.reason, verdict.rider_id)
            if admission.reason in DEAD_ENDS:
                step = next_step(session, station=station, reason=admission.reason, now=now)
    nonce_expires_at = (
        datetime.fromtimestamp(credential.expires_at + DEFAULT_SKEW_S, UTC)
        if isinstance(credential, Claims)
        else None
    )
    stored = repo.record_decision(
        session,
        decision=AccessDecision(
            request_id=request.request_id,
            station_id=request.station_id,
            allowed=verdict.allowed,
            reason=verdict.reason,
            rider_id=verdict.rider_id,
            decided_at=decided_at,
            expires_at=expires_at,
        ),
        nonce=nonce,
        nonce_expires_at=nonce_expires_at,
        flags=flags,
        nearby_station=step.nearby,
    )
    # The next step as found now (a repeated request gets it again, if the answer is the same).
    fresh = stored.reason == verdict.reason.value
    return AccessDecision(
        request_id=stored.request_id,
        station_id=stored.station_id,
        allowed=stored.allowed,
        reason=Reason(stored.reason),
        rider_id=stored.rider_id,
        decided_at=decided_at,
        expires_at=expires_at,
        nearby_station=stored.nearby_station,
        nearby_distance_m=step.nearby_distance_m if fresh else None,
        reopens_at=step.reopens_at if fresh else None,
    )
