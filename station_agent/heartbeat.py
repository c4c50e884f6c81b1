"""The heartbeat: every ``heartbeat_s`` while the link is up, the station's health for the
server (camera ok, clock offset, outbox depth and floor, config version, why it could not
decide offline now). The server marks a station offline after a few missed heartbeats.

The retained online/offline state message (birth, last will, goodbye) is the transport's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from protocol.payloads import Heartbeat
from station_agent.access import offline_refusal
from station_agent.config import AgentSettings
from station_agent.ports import Store, Transport
from station_agent.state import AgentState

CAMERA_SILENCE_S = 5.0  # no frame for this long: the heartbeat says the camera is not ok


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

    def frame_seen(self, now: float) -> None:
        """The camera gave a frame (any frame: a covered lens is the door machine's concern)."""
        self._last_frame_at = now

    def tick(self, now: float) -> None:
        """Send one when it is due; while the link is down, the turn is skipped, not queued."""
        if now < self.due_at:
            return
        self.due_at = now + self._settings.heartbeat_s
        if self._state.connected:
            self._transport.publish_heartbeat(self.heartbeat(now))

    def heartbeat(self, now: float) -> Heartbeat:
        return Heartbeat(
            station_id=self._settings.station_id,
            session_id=self._session_id,
            sent_at=datetime.fromtimestamp(now, UTC),
            interval_s=self._settings.heartbeat_s,
            camera_ok=now - self._last_frame_at < CAMERA_SILENCE_S,
            clock_offset_s=self._state.clock_offset_s,
            outbox_depth=self._store.depth(),
            epoch=self._store.epoch,
            outbox_floor=self._store.floor(),
            config_version=self._state.config_version,
            offline_refusal=offline_refusal(self._state, self._settings, now),
            config_error=self._state.config_error,
        )
