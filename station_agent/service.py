"""The agent's loop: one thread owns all state; cameras are polled, everything else is queued.

Hardware callbacks and the MQTT adapter only put ``AgentInput`` values into the inbox, so no
state is shared between threads and no handler runs inside a network callback.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from protocol.credential import Claims, Rejected, public_key_from_text
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    DecidedBy,
    EventKind,
    Passage,
    StationConfig,
    StationEvent,
    StationState,
)
from protocol.reasons import Reason
from station_agent import __version__
from station_agent.config import AgentSettings
from station_agent.core import door
from station_agent.core.offline import offline_refusal
from station_agent.core.ratelimit import Bucket
from station_agent.core.scan import RecentScans, StationView, check_scan
from station_agent.ports import (
    Camera,
    Clock,
    Display,
    DoorSensor,
    ExitButton,
    Lock,
    QrDecoder,
    ReplayCache,
    Transport,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DecisionArrived:
    decision: AccessDecision


@dataclass(frozen=True, slots=True)
class ConfigArrived:
    config: StationConfig


@dataclass(frozen=True, slots=True)
class DoorChanged:
    is_open: bool
    at: float


@dataclass(frozen=True, slots=True)
class ExitPressed:
    at: float


AgentInput = DecisionArrived | ConfigArrived | DoorChanged | ExitPressed


@dataclass(frozen=True, slots=True)
class _Pending:
    claims: Claims
    sent_at: float
    deadline: float


@dataclass(frozen=True, slots=True)
class Hardware:
    camera: Camera
    decoder: QrDecoder
    lock: Lock
    door: DoorSensor
    exit_button: ExitButton
    display: Display


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class StationAgent:
    def __init__(
        self,
        settings: AgentSettings,
        hardware: Hardware,
        transport: Transport,
        inbox: queue.SimpleQueue[AgentInput],
        clock: Clock,
        session_id: str,
        replay: ReplayCache,
    ) -> None:
        self.settings = settings
        self.station_id = settings.station_id
        self._hw = hardware
        self._transport = transport
        self._inbox = inbox
        self._clock = clock
        self._view: StationView | None = None
        self._door = door.DoorState()
        self._recent = RecentScans.empty()
        self._pending: dict[str, _Pending] = {}
        self._replay = replay
        self._denials = Bucket.full(
            settings.denial_events_per_s, settings.denial_events_burst, clock()
        )
        self.clock_offset_s: float | None = None  # server minus station, from decisions
        self._seq = 0
        self.session_id = session_id
        self.stopping = threading.Event()
        hardware.door.subscribe(lambda is_open: inbox.put(DoorChanged(is_open, clock())))
        hardware.exit_button.subscribe(lambda: inbox.put(ExitPressed(clock())))

    @property
    def events_emitted(self) -> int:
        return self._seq

    @property
    def configured(self) -> bool:
        return self._view is not None

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> None:
        """Run until ``stopping`` is set; then relock and say goodbye."""
        self._transport.start()
        next_frame = self._clock()
        try:
            while not self.stopping.is_set():
                timeout = max(0.0, next_frame - self._clock())
                try:
                    self._handle(self._inbox.get(timeout=timeout))
                    while True:  # drain whatever else is waiting before the next frame
                        self._handle(self._inbox.get_nowait())
                except queue.Empty:
                    pass
                now = self._clock()
                if now >= next_frame:
                    next_frame = now + self.settings.frame_interval_s
                    self._scan_frame()
                self._expire_pending(self._clock())
                self._apply(door.tick(self._door, now=self._clock()))
        finally:
            self._hw.lock.lock()
            self._publish_state(online=False)
            self._transport.stop()
            self._hw.camera.close()
            self._replay.close()

    def _handle(self, item: AgentInput) -> None:
        match item:
            case DecisionArrived(decision):
                self._on_decision(decision)
            case ConfigArrived(config):
                self._on_config(config)
            case DoorChanged(is_open, at):
                step = door.door_changed(self._door, is_open=is_open, now=at)
                if step.state == self._door:
                    return
                self._apply(step)
                if is_open:
                    self._emit(
                        EventKind.DOOR_OPENED, at, passage=step.passage, rider_id=step.rider_id
                    )
                else:
                    self._emit(EventKind.DOOR_CLOSED, at)
            case ExitPressed(at):
                self._emit(EventKind.EXIT_PRESSED, at)
                self._apply(
                    door.release(
                        self._door, now=at, unlock_s=self.settings.unlock_s, passage=Passage.EXIT
                    )
                )

    def _apply(self, step: door.Step) -> None:
        self._door = step.state
        for action in step.actions:
            if action is door.LockAction.UNLOCK:
                self._hw.lock.unlock()
            else:
                self._hw.lock.lock()

    # -- scanning ------------------------------------------------------------------------
    def _scan_frame(self) -> None:
        frame = self._hw.camera.read()
        if frame is None:
            return
        for text in self._hw.decoder.decode(frame):
            self.on_scan(text)

    def on_scan(self, text: str) -> None:
        now = self._clock()
        cooldown = self.settings.scan_cooldown_s
        if self._recent.is_repeat(text, now, cooldown):
            return
        self._recent = self._recent.record(text, now, cooldown)
        verdict = check_scan(text, self._view, now)
        if isinstance(verdict, Rejected):
            self._deny(verdict.reason, now, decided_by=DecidedBy.STATION)
            return
        if self._replay.seen(verdict.nonce, now):
            self._deny(Reason.REPLAYED, now, DecidedBy.STATION, rider_id=verdict.rider_id)
            return
        request_id = uuid.uuid4().hex
        deadline = now + self.settings.decision_timeout_s
        self._pending[request_id] = _Pending(verdict, now, deadline)
        self._transport.request_access(
            AccessRequest(
                request_id=request_id,
                station_id=self.station_id,
                token=text,
                station_time=_utc(now),
            )
        )

    def _on_decision(self, decision: AccessDecision) -> None:
        now = self._clock()
        pending = self._pending.get(decision.request_id)
        if pending is None or decision.station_id != self.station_id:
            log.info("%s: ignored a decision for no request of ours", self.station_id)
            return
        if decision.expires_at.timestamp() < now:
            log.info("%s: ignored an expired decision", self.station_id)
            return
        del self._pending[decision.request_id]  # each request actuates at most once
        # The server's clock, seen halfway through the round trip.
        self.clock_offset_s = decision.decided_at.timestamp() - (pending.sent_at + now) / 2
        rider = decision.rider_id or pending.claims.rider_id
        if not decision.allowed:
            self._deny(decision.reason, now, DecidedBy.SERVER, decision.request_id, rider)
            return
        claims = pending.claims
        # Durable before the door opens: after a crash the same code cannot open it again.
        self._replay.remember(claims.nonce, claims.expires_at + self.settings.clock_skew_s, now)
        self._apply(
            door.release(
                self._door,
                now=now,
                unlock_s=self.settings.unlock_s,
                passage=Passage.ENTRY,
                rider_id=rider,
            )
        )
        self._hw.display.show(allowed=True, reason=Reason.GRANTED)
        self._emit(
            EventKind.ACCESS_GRANTED,
            now,
            request_id=decision.request_id,
            rider_id=rider,
            reason=Reason.GRANTED,
            decided_by=DecidedBy.SERVER,
        )

    def offline_refusal(self, now: float) -> Reason | None:
        """Why this station may not decide on its own now, or None."""
        return offline_refusal(
            self._view,
            now=now,
            clock_offset_s=self.clock_offset_s,
            max_denylist_age_s=self.settings.max_denylist_age_s,
            max_clock_offset_s=self.settings.max_clock_offset_s,
        )

    def _expire_pending(self, now: float) -> None:
        for request_id, pending in list(self._pending.items()):
            if now >= pending.deadline:
                del self._pending[request_id]
                # Offline decisions come with the outbox (issue #4); until then: fail secure,
                # naming the reason offline entry would be refused when there is one.
                reason = self.offline_refusal(now) or Reason.SERVER_UNAVAILABLE
                self._deny(reason, now, DecidedBy.STATION, request_id, pending.claims.rider_id)

    def _deny(
        self,
        reason: Reason,
        now: float,
        decided_by: DecidedBy,
        request_id: str | None = None,
        rider_id: str | None = None,
    ) -> None:
        self._hw.display.show(allowed=False, reason=reason)
        # A flood of bad codes must not become a flood of events: excess is counted instead.
        self._denials, withheld = self._denials.take(now)
        if withheld is None:
            return
        self._emit(
            EventKind.ACCESS_DENIED,
            now,
            request_id=request_id,
            rider_id=rider_id,
            reason=reason,
            decided_by=decided_by,
            suppressed=withheld or None,
        )

    # -- configuration and reporting -------------------------------------------------------
    def _on_config(self, config: StationConfig) -> None:
        if config.station_id != self.station_id:
            log.warning("%s: ignored config addressed to %s", self.station_id, config.station_id)
            return
        if self._view is not None and config.config_version < self._view.config_version:
            log.info("%s: ignored older config v%d", self.station_id, config.config_version)
            return
        try:
            keys = {kid: public_key_from_text(text) for kid, text in config.keys.items()}
        except ValueError as exc:
            log.warning("%s: rejected config v%d: %s", self.station_id, config.config_version, exc)
            return
        self._view = StationView(
            station_id=self.station_id,
            audience=config.audience,
            keys=keys,
            config_version=config.config_version,
            issued_at=config.issued_at.timestamp(),
            denylist=dict(config.denylist),
            skew_s=self.settings.clock_skew_s,
        )
        log.info("%s: config v%d applied", self.station_id, config.config_version)

    def _emit(self, kind: EventKind, at: float, **fields: object) -> None:
        self._seq += 1
        event = StationEvent.model_validate(
            {
                "event_id": uuid.uuid4().hex,
                "station_id": self.station_id,
                "seq": self._seq,
                "kind": kind,
                "occurred_at": _utc(at),
                **fields,
            }
        )
        self._transport.publish_event(event)

    def _publish_state(self, *, online: bool) -> None:
        self._transport.publish_state(
            station_state(self.station_id, self.session_id, online=online, now=self._clock())
        )


def station_state(station_id: str, session_id: str, *, online: bool, now: float) -> StationState:
    return StationState(
        station_id=station_id,
        online=online,
        session_id=session_id,
        agent_version=__version__,
        at=_utc(now),
    )
