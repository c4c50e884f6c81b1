"""Handler for ``access/request``: verify, read, decide, record, answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlmodel import Session

from protocol.codes import verify_code
from protocol.credential import DEFAULT_SKEW_S, Claims, KeySet
from protocol.payloads import AccessDecision, AccessRequest
from protocol.reasons import DEAD_ENDS, Reason
from server.access.decide import Verdict, decide
from server.access.decision_store import DecisionInputs, StationView, StoredDecision
from server.access.next_step import NextStep, next_step
from server.access.policy import AdmissionInput, StationRules, admit
from server.stations.repo import get_station
from server.stations.rules import rules_from


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
    next_step_of: Callable[[str, Reason, float], NextStep] | None = None,
) -> AccessDecision:
    """The decision for one request: one read of everything it needs, the pure rules, one
    write. A repeated request id gets the stored answer again (``store.record`` finds it).
    ``next_step_of(station_id, reason, now)`` finds a refused rider's next step for a dead
    end (full, closed, maintenance, lockdown: rare, so it may cost queries of its own)."""
    decided_at = datetime.fromtimestamp(now, UTC)
    expires_at = decided_at + timedelta(seconds=policy.decision_ttl_s)
    # A server token or a device code: either way the rider's credential version, revocation
    # and the nonce are checked here, as for any code (so a device code is single-use too).
    credential = verify_code(request.token, keys=policy.keys, audience=policy.audience, now=now)
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
    step = NextStep()
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
            if admission.reason in DEAD_ENDS and next_step_of is not None:
                step = next_step_of(station.station_id, admission.reason, now)
    decision = AccessDecision(
        request_id=request.request_id,
        station_id=request.station_id,
        allowed=verdict.allowed,
        reason=verdict.reason,
        rider_id=verdict.rider_id,
        decided_at=decided_at,
        expires_at=expires_at,
        nearby_station=step.nearby,
        nearby_distance_m=step.nearby_distance_m,
        reopens_at=step.reopens_at,
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
        nearby_station=step.nearby,
    )
    if (stored.allowed, stored.reason, stored.rider_id, stored.nearby_station) == (
        decision.allowed,
        decision.reason,
        decision.rider_id,
        decision.nearby_station,
    ):
        return decision
    # A repeated request answered differently first: that answer, without this one's step.
    return decision.model_copy(
        update={
            "allowed": stored.allowed,
            "reason": stored.reason,
            "rider_id": stored.rider_id,
            "nearby_station": stored.nearby_station,
            "nearby_distance_m": None,
            "reopens_at": None,
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


def next_step_in(session: Session, station_id: str, reason: Reason, now: float) -> NextStep:
    """A refused rider's next step, read with ``session`` (``server.access.next_step``)."""
    station = get_station(session, station_id=station_id)
    if station is None:
        return NextStep()
    return next_step(session, station=station, reason=reason, now=now)
