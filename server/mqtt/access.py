"""Handler for ``access/request``: verify, decide, record, answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from protocol.credential import DEFAULT_SKEW_S, Claims, KeySet, verify_token
from protocol.payloads import AccessDecision, AccessRequest
from protocol.reasons import Reason
from server import crud
from server.access.decide import RiderView, decide


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    keys: KeySet
    audience: str
    decision_ttl_s: int


def handle_access_request(
    session: Session, *, request: AccessRequest, policy: AccessPolicy, now: float
) -> AccessDecision:
    """The decision for one request; a repeated request id gets the same answer again."""
    decided_at = datetime.fromtimestamp(now, UTC)
    expires_at = decided_at + timedelta(seconds=policy.decision_ttl_s)
    stored = crud.get_decision(session, request_id=request.request_id)
    if stored is None:
        credential = verify_token(
            request.token, keys=policy.keys, audience=policy.audience, now=now
        )
        rider_view, nonce, nonce_used = None, None, False
        if isinstance(credential, Claims):
            nonce = credential.nonce.hex()
            nonce_used = crud.nonce_used(session, nonce=nonce)
            rider = crud.get_rider(session, rider_id=credential.rider_id)
            if rider is not None:
                revoked = rider.revoked_at is not None
                rider_view = RiderView(rider.id, rider.credential_version, revoked)
        verdict = decide(
            station_known=crud.get_station(session, station_id=request.station_id) is not None,
            credential=credential,
            rider=rider_view,
            nonce_used=nonce_used,
        )
        nonce_expires_at = (
            datetime.fromtimestamp(credential.expires_at + DEFAULT_SKEW_S, UTC)
            if isinstance(credential, Claims)
            else None
        )
        stored = crud.record_decision(
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
            station_clock_offset_s=now - request.station_time.timestamp(),
        )
    return AccessDecision(
        request_id=stored.request_id,
        station_id=stored.station_id,
        allowed=stored.allowed,
        reason=Reason(stored.reason),
        rider_id=stored.rider_id,
        decided_at=decided_at,
        expires_at=expires_at,
    )
