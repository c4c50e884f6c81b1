"""The access flow: a scanned code → local check → request to the server → its decision, or the
station's own when the server does not answer in time → grant or deny at the door.

The agent acts only on a decision it can match to a request it has pending, for its own
station and not expired; each request actuates at most once. When the server is silent for
``decision_timeout_s``, or at once when the link is down, the station decides from what it
verified itself, as long as its denylist and clock are fresh enough (else it refuses:
fail-secure for entry). Retained decisions never get this far: the MQTT adapter drops them.

A station closed to everyone (lockdown, maintenance) refuses every code itself, but while its
link is up it still asks the server, only to show the rider's next step (the nearest open
station with room, ``protocol.reasons.DoorHint``): the answer never opens the door, and no
answer means the same refusal without the hint.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from protocol.credential import Claims, Rejected
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    DecidedBy,
    EventKind,
    Passage,
    StationMode,
)
from protocol.reasons import DoorHint, Reason
from station_agent.config import AgentSettings, OfflineEntry
from station_agent.core import offline
from station_agent.core.ratelimit import Bucket
from station_agent.core.scan import RecentScans, check_scan
from station_agent.doorway import Doorway
from station_agent.metrics import AgentMetrics
from station_agent.outbox import OutboxSender
from station_agent.ports import Display, Store, Transport
from station_agent.state import AgentState

log = logging.getLogger(__name__)


def offline_refusal(state: AgentState, settings: AgentSettings, now: float) -> Reason | None:
    """Why this station may not decide on its own now, or None."""
    if settings.offline_entry is OfflineEntry.DENY:
        return Reason.SERVER_UNAVAILABLE
    refusal = offline.offline_refusal(
        state.view,
        now=now,
        clock_offset_s=state.clock_offset_s,
        max_denylist_age_s=settings.max_denylist_age_s,
        max_clock_offset_s=settings.max_clock_offset_s,
    )
    if refusal in (Reason.DENYLIST_STALE, Reason.CLOCK_UNTRUSTED) and (
        state.mode is StationMode.FREE_ENTRY
    ):
        # Heat wave, typhoon, cold snap: a genuine code gets in even when the station
        # cannot be sure it is still valid; shelter comes first.
        return None
    return refusal


@dataclass(frozen=True, slots=True)
class _Pending:
    claims: Claims
    sent_at: float
    deadline: float
    # Closed to everyone here (lockdown, maintenance): the server is asked only for the
    # rider's next step; whatever it answers, and if it does not, this is the refusal.
    standing: Reason | None = None


class AccessFlow:
    def __init__(
        self,
        settings: AgentSettings,
        state: AgentState,
        *,
        store: Store,
        transport: Transport,
        outbox: OutboxSender,
        doorway: Doorway,
        display: Display,
        now: float,
        metrics: AgentMetrics,
    ) -> None:
        self._settings = settings
        self._station_id = settings.station_id
        self._state = state
        self._store = store
        self._transport = transport
        self._outbox = outbox
        self._doorway = doorway
        self._display = display
        self._metrics = metrics
        self._recent = RecentScans.empty()
        self._pending: dict[str, _Pending] = {}  # request id -> what we asked about
        self._denials = Bucket.full(settings.denial_events_per_s, settings.denial_events_burst, now)

    @property
    def pending(self) -> int:
        """Requests waiting for the server's answer."""
        return len(self._pending)

    @property
    def next_deadline(self) -> float:
        """When the first pending request stops waiting for the server (inf: none waits)."""
        return min((pending.deadline for pending in self._pending.values()), default=math.inf)

    def on_scan(self, text: str, now: float) -> None:
        cooldown = self._settings.scan_cooldown_s
        if self._recent.is_repeat(text, now, cooldown):
            return
        self._recent = self._recent.record(text, now, cooldown)
        verdict = check_scan(text, self._state.view, now)
        if isinstance(verdict, Rejected):
            self._deny(verdict.reason, now, decided_by=DecidedBy.STATION)
            return
        standing = self._state.standing_refusal()
        if standing is not None and not self._state.connected:
            self._deny(standing, now, DecidedBy.STATION, rider_id=verdict.rider_id)
            return
        if self._store.seen(verdict.nonce, now):
            self._deny(Reason.REPLAYED, now, DecidedBy.STATION, rider_id=verdict.rider_id)
            return
        if self._is_pending(verdict.nonce):
            # The same code, still held up after its cooldown while its first request waits
            # (decision_timeout_s > scan_cooldown_s): that request will answer the rider.
            return
        request_id = uuid.uuid4().hex
        if not self._state.connected:
            self._decide_offline(verdict, request_id, now)  # no point waiting for an answer
            return
        deadline = now + self._settings.decision_timeout_s
        self._pending[request_id] = _Pending(verdict, now, deadline, standing)
        self._transport.request_access(
            AccessRequest(
                request_id=request_id,
                station_id=self._station_id,
                token=text,
                station_time=datetime.fromtimestamp(now, UTC),
            )
        )

    def on_decision(self, decision: AccessDecision, now: float) -> None:
        pending = self._pending.get(decision.request_id)
        if pending is None or decision.station_id != self._station_id:
            log.info("%s: ignored a decision for no request of ours", self._station_id)
            return
        if decision.expires_at.timestamp() < now:
            log.info("%s: ignored an expired decision", self._station_id)
            return
        del self._pending[decision.request_id]  # each request actuates at most once
        # The server's clock, seen halfway through the round trip.
        self._state.clock_offset_s = decision.decided_at.timestamp() - (pending.sent_at + now) / 2
        rider = decision.rider_id or pending.claims.rider_id
        if pending.standing is not None:  # never opened here now, whatever the server said
            self._deny(
                pending.standing, now, DecidedBy.STATION, decision.request_id, rider, decision
            )
        elif decision.allowed:
            self._grant(pending.claims, decision.request_id, now, DecidedBy.SERVER)
        else:
            self._deny(decision.reason, now, DecidedBy.SERVER, decision.request_id, rider, decision)

    def expire(self, now: float) -> None:
        """Requests the server left unanswered past their deadline: the station decides."""
        for request_id, pending in list(self._pending.items()):
            if now >= pending.deadline:
                del self._pending[request_id]
                self._decide_offline(pending.claims, request_id, now, pending.standing)

    def link_lost(self, now: float) -> None:
        """No answer can come now: the station decides every pending request itself."""
        for request_id, pending in list(self._pending.items()):
            del self._pending[request_id]
            self._decide_offline(pending.claims, request_id, now, pending.standing)

    def _decide_offline(
        self, claims: Claims, request_id: str, now: float, standing: Reason | None = None
    ) -> None:
        """The code passed every local check; only the server's part is missing."""
        if standing is not None:
            self._deny(standing, now, DecidedBy.STATION, request_id, claims.rider_id)
            return
        refusal = offline_refusal(self._state, self._settings, now)
        self._metrics.decided_offline(refusal)
        if refusal is None:
            self._grant(claims, request_id, now, DecidedBy.STATION)
        else:
            self._deny(refusal, now, DecidedBy.STATION, request_id, claims.rider_id)

    def _is_pending(self, nonce: bytes) -> bool:
        return any(pending.claims.nonce == nonce for pending in self._pending.values())

    def _grant(self, claims: Claims, request_id: str, now: float, decided_by: DecidedBy) -> None:
        if self._store.seen(claims.nonce, now):
            # Used up since it was scanned: whatever decided this request, a code opens the
            # door once. (The loop is the store's only writer, so check-then-record holds.)
            self._deny(Reason.REPLAYED, now, DecidedBy.STATION, request_id, claims.rider_id)
            return
        # Nonce and event committed together, before the lock moves.
        self._outbox.emit_grant(
            claims.nonce,
            claims.expires_at + self._settings.clock_skew_s,
            now,
            request_id=request_id,
            rider_id=claims.rider_id,
            reason=Reason.GRANTED,
            decided_by=decided_by,
        )
        self._doorway.release(Passage.ENTRY, now, claims.rider_id)
        self._display.show(allowed=True, reason=Reason.GRANTED)

    def _deny(
        self,
        reason: Reason,
        now: float,
        decided_by: DecidedBy,
        request_id: str | None = None,
        rider_id: str | None = None,
        decision: AccessDecision | None = None,
    ) -> None:
        self._display.show(allowed=False, reason=reason, hint=self._hint(decision))
        # A flood of bad codes must not become a flood of events: excess is counted instead.
        self._denials, withheld = self._denials.take(now)
        if withheld is None:
            return
        self._outbox.emit(
            EventKind.ACCESS_DENIED,
            now,
            request_id=request_id,
            rider_id=rider_id,
            reason=reason,
            decided_by=decided_by,
            suppressed=withheld or None,
        )

    def _hint(self, decision: AccessDecision | None) -> DoorHint | None:
        """The rider's next step: the server's (nearest station with room, reopening) when it
        decided, and the hotline, which the station has offline too (the keys page)."""
        keys_page = self._state.trust_keys
        hotline = keys_page.hotline if keys_page is not None else None
        if decision is None or (decision.nearby_station is None and decision.reopens_at is None):
            return DoorHint(hotline=hotline) if hotline else None
        return DoorHint(
            nearby=decision.nearby_station,
            nearby_distance_m=decision.nearby_distance_m,
            reopens_at=decision.reopens_at,
            decided_at=decision.decided_at,
            hotline=hotline,
        )
