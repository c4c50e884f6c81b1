"""Handler for ``access/request``: verify, read, decide, record, answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlmodel import Session

from protocol.credential import DEFAULT_SKEW_S, Claims, KeySet, verify_token
from protocol.payloads import AccessDecision, AccessRequest
from protocol.reasons import Reason
from server.access.decide import Verdict, decide
from server.access.decision_store import DecisionInputs, StationView, StoredDecision
from server.access.nearest import StationSpot, nearest_with_room
from server.access.policy import AdmissionInput, StationRules, accepting_riders, admit
from server.stations.repo import list_stations
from server.stations.rules import rules_from, rules_of


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    keys: KeySet
    audience: str
    decision_ttl_s: int


class DecisionData(Protocol):
    """The database a decision uses (``server.access.decision_store.DecisionStore``)."""

    def read(
        self, *, station_id: str, rider_id: str | None, nonce: str | None
    ) -> DecisionInputs: ...

    def record(
        self,
        decision: AccessDecision,
        *,
        nonce: str | None,
        nonce_expires_at: datetime | None,
        flags: str,
        nearby_station: str | None,
    ) -> StoredDecision: ...


def handle_access_request(
    store: DecisionData,
    *,
    request: AccessRequest,
    policy: AccessPolicy,
    now: float,
    nearest: Callable[[str, float], str | None] | None = None,
) -> AccessDecision:
    """The decision for one request: one read of everything it needs, the pure rules, one
    write. A repeated request id gets the stored answer again (``store.record`` finds it).
    ``nearest(station_id, now)`` names another station with room for a refusal at capacity
    (rare, so it may cost a query of its own)."""
    decided_at = datetime.fromtimestamp(now, UTC)
    expires_at = decided_at + timedelta(seconds=policy.decision_ttl_s)
    credential = verify_token(request.token, keys=policy.keys, audience=policy.audience, now=now)
    claims = credential if isinstance(credential, Claims) else None
    nonce = claims.nonce.hex() if claims is not None else None
    inputs = store.read(
        station_id=request.station_id,
        rider_id=claims.rider_id if claims is not None else None,
        nonce=nonce,
    )
    station = inputs.station
    verdict = decide(
        station_known=station is not None,
        credential=credential,
        rider=inputs.rider if claims is not None else None,
        nonce_used=inputs.nonce_used,
    )
    flags: tuple[str, ...] = ()
    nearby: str | None = None
    if verdict.allowed and station is not None and verdict.rider_id is not None:
        # The credential is good; now the station's own rules.
        admission = admit(
            AdmissionInput(
                rider_id=verdict.rider_id,
                occupancy=station.occupancy,
                inside_since=inputs.inside_since,
            ),
            _rules(station),
            now,
        )
        flags = tuple(flag.value for flag in admission.flags)
        if not admission.allowed:
            verdict = Verdict(False, admission.reason, verdict.rider_id)
            if admission.reason is Reason.STATION_FULL and nearest is not None:
                nearby = nearest(station.station_id, now)
    decision = AccessDecision(
        request_id=request.request_id,
        station_id=request.station_id,
        allowed=verdict.allowed,
        reason=verdict.reason,
        rider_id=verdict.rider_id,
        decided_at=decided_at,
        expires_at=expires_at,
        nearby_station=nearby,
    )
    stored = store.record(
        decision,
        nonce=nonce,
        nonce_expires_at=(
            datetime.fromtimestamp(claims.expires_at + DEFAULT_SKEW_S, UTC)
            if claims is not None
            else None
        ),
        flags=",".join(flags),
        nearby_station=nearby,
    )
    if (stored.allowed, stored.reason, stored.rider_id, stored.nearby_station) == (
        decision.allowed,
        decision.reason,
        decision.rider_id,
        decision.nearby_station,
    ):
        return decision
    return decision.model_copy(
        update={
            "allowed": stored.allowed,
            "reason": stored.reason,
            "rider_id": stored.rider_id,
            "nearby_station": stored.nearby_station,
        }
    )


def _rules(station: StationView) -> StationRules:
    return rules_from(
        capacity=station.capacity,
        soft_limit=station.soft_limit,
        opening_hours=station.opening_hours,
        lockdown=station.lockdown,
        maintenance=station.maintenance,
        emergency=station.emergency,
        passback=station.passback,
    )


def nearest_station_with_room(session: Session, station_id: str, now: float) -> str | None:
    """The name of the nearest other station accepting riders with room, if any."""
    spots = [
        StationSpot(
            station_id=s.id,
            name=s.name,
            lat=s.latitude,
            lon=s.longitude,
            occupancy=s.occupancy,
            capacity=s.capacity,
            accepting=accepting_riders(rules_of(s), now),
        )
        for s in list_stations(session)
    ]
    nearby = nearest_with_room(station_id, spots)
    return nearby.station.name if nearby else None
