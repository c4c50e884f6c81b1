"""The heartbeat: every ``heartbeat_s`` while the link is up, the station's health for the
server (camera ok, clock offset, outbox depth and floor, config version, why it could not
decide offline now, why it is not ready if it is not). The server marks a station offline
after a few missed heartbeats.

The retained online/offline state message (birth, last will, goodbye) is the transport's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from protocol.payloads import Heartbeat, StationEvent, parse
from station_agent.access import offline_refusal
from station_agent.config import AgentSettings
from station_agent.core.readiness import Readiness, ReadinessFacts, judge
from station_agent.ports import Store, Transport
from station_agent.state import AgentState

CAMERA_SILENCE_S = 5.0  # no frame for this long: the heartbeat says the camera is not ok

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxFacts:
    store_ok: bool
    depth: int
    oldest_unsent_age_s: float | None


def outbox_facts(store: Store, now: float) -> OutboxFacts:
    """How deep the outbox is and how old its oldest event, read from the store; a store that
    cannot answer is the answer (the heartbeat still goes, saying so)."""
    try:
        depth = store.depth()
        oldest = store.pending(limit=1)
    except Exception:  # any failure of the store is what this reports
        log.exception("the store cannot be read")
        return OutboxFacts(store_ok=False, depth=0, oldest_unsent_age_s=None)
    if not oldest:
        return OutboxFacts(store_ok=True, depth=depth, oldest_unsent_age_s=None)
    occurred_at = parse(StationEvent, oldest[0][1]).occurred_at.timestamp()
    return OutboxFacts(store_ok=True, depth=depth, oldest_unsent_age_s=max(0.0, now - occurred_at))


class HeartbeatSender:
    def __init__(
        self,
        settings: AgentSettings,
        state: AgentState,
        *,
        session_id: str,
        store: Store,
        transport: Transport,
        now: float,
    ) -> None:
        self._settings = settings
        self._state = state
        self._session_id = session_id
        self._store = store
        self._transport = transport
        self.due_at = now  # the first one goes at the first turn of the loop
        self._last_frame_at = now
        self._picture = True  # the last frame showed a picture

    def frame_seen(self, now: float, *, picture: bool = True) -> None:
        """The camera gave a frame; ``picture``: not a covered or blank one."""
        self._last_frame_at = now
        self._picture = picture

    def readiness(self, now: float, outbox: OutboxFacts) -> Readiness:
        return judge(
            ReadinessFacts(
                store_ok=outbox.store_ok,
                broker_connected=self._state.connected,
                frame_age_s=now - self._last_frame_at,
                frame_interval_s=self._settings.frame_interval_s,
                camera_ok=self._picture,
                outbox_depth=outbox.depth,
                oldest_unsent_age_s=outbox.oldest_unsent_age_s,
            )
        )

    def tick(self, now: float) -> None:
        """Send one when it is due; while the link is down, the turn is skipped, not queued."""
        if now < self.due_at:
            return
        self.due_at = now + self._settings.heartbeat_s
        if self._state.connected:
            self._transport.publish_heartbeat(self.heartbeat(now))

    def heartbeat(self, now: float) -> Heartbeat:
        outbox = outbox_facts(self._store, now)
        return Heartbeat(
            station_id=self._settings.station_id,
            session_id=self._session_id,
            sent_at=datetime.fromtimestamp(now, UTC),
            interval_s=self._settings.heartbeat_s,
            camera_ok=now - self._last_frame_at < CAMERA_SILENCE_S,
            clock_offset_s=self._state.clock_offset_s,
            outbox_depth=outbox.depth,
            epoch=self._store.epoch,
            outbox_floor=self._store.floor() if outbox.store_ok else None,
            config_version=self._state.config_version,
            offline_refusal=offline_refusal(self._state, self._settings, now),
            config_error=self._state.config_error,
            not_ready=self.readiness(now, outbox).codes,
        )
