"""The agent's loop: one thread owns all state; cameras are polled, everything else is queued.

Hardware callbacks and the MQTT adapter only put ``AgentInput`` values into the inbox, so no
state is shared between threads and no handler runs inside a network callback.

Every event is committed to the local outbox first and leaves it only when the server has
acknowledged storing it; the drain runs in order, a window at a time, and re-sends what waits
too long. When the server does not answer in time, or the broker is out of reach, the station
decides on its own from what it can check locally, as long as that is fresh enough.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from protocol.credential import Claims, Rejected, public_key_from_text
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    CommandKind,
    DecidedBy,
    EventKind,
    EventsAck,
    Heartbeat,
    LockType,
    Passage,
    StationCommand,
    StationConfig,
    StationEvent,
    StationMode,
    StationState,
)
from protocol.reasons import Reason
from station_agent import __version__
from station_agent.config import AgentSettings, OfflineEntry
from station_agent.core import door
from station_agent.core.camera_health import classify
from station_agent.core.commands import Command, accept_command
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
    Store,
    Transport,
)

log = logging.getLogger(__name__)

CAMERA_SILENCE_S = 5.0  # no frame for this long: the heartbeat says the camera is not ok


@dataclass(frozen=True, slots=True)
class DecisionArrived:
    decision: AccessDecision


@dataclass(frozen=True, slots=True)
class ConfigArrived:
    config: StationConfig


@dataclass(frozen=True, slots=True)
class AckArrived:
    ack: EventsAck


@dataclass(frozen=True, slots=True)
class LinkChanged:
    connected: bool


@dataclass(frozen=True, slots=True)
class CommandArrived:
    command: StationCommand
    retained: bool


@dataclass(frozen=True, slots=True)
class DoorChanged:
    is_open: bool
    at: float


@dataclass(frozen=True, slots=True)
class ExitPressed:
    at: float


AgentInput = (
    DecisionArrived
    | ConfigArrived
    | AckArrived
    | LinkChanged
    | CommandArrived
    | DoorChanged
    | ExitPressed
)


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


def station_state(
    station_id: str,
    session_id: str,
    *,
    online: bool,
    now: float,
    lock_type: LockType | None = None,
) -> StationState:
    return StationState(
        station_id=station_id,
        online=online,
        session_id=session_id,
        agent_version=__version__,
        at=_utc(now),
        lock_type=lock_type,
    )


class StationAgent:
    def __init__(
        self,
        settings: AgentSettings,
        hardware: Hardware,
        transport: Transport,
        inbox: queue.SimpleQueue[AgentInput],
        clock: Clock,
        session_id: str,
        store: Store,
    ) -> None:
        self.settings = settings
        self.station_id = settings.station_id
        self._hw = hardware
        self._transport = transport
        self._inbox = inbox
        self._clock = clock
        self._store = store
        self.session_id = session_id
        self.stopping = threading.Event()
        self._view: StationView | None = None
        self._door = door.DoorState()
        self._timings = door.DoorTimings(
            unlock_s=settings.unlock_s,
            held_open_s=settings.held_open_s,
            debounce_s=settings.door_debounce_s,
            camera_trouble_s=settings.camera_trouble_s,
        )
        self.mode = StationMode.NORMAL
        self.lockdown = False
        self._seen_commands: Mapping[str, float] = {}
        self._recent = RecentScans.empty()
        self._pending: dict[str, _Pending] = {}
        self._denials = Bucket.full(
            settings.denial_events_per_s, settings.denial_events_burst, clock()
        )
        self.clock_offset_s: float | None = None  # server minus station, from decisions
        self.events_emitted = 0  # by this process
        self.final_outbox_depth = 0  # left unacknowledged at the last stop
        self._connected = False
        self._in_flight: dict[int, float] = {}  # outbox seq -> when it was last sent
        self._highest_sent = 0
        self._drain_needed = True
        self._last_frame_at = clock()
        self._next_heartbeat = clock()
        hardware.door.subscribe(lambda is_open: inbox.put(DoorChanged(is_open, clock())))
        hardware.exit_button.subscribe(lambda: inbox.put(ExitPressed(clock())))

    @property
    def configured(self) -> bool:
        return self._view is not None

    @property
    def outbox_depth(self) -> int:
        return self._store.depth()

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> None:
        """Run until ``stopping`` is set; then relock and say goodbye."""
        self._transport.start()
        next_frame = self._clock()
        try:
            while not self.stopping.is_set():
                timeout = max(0.0, min(next_frame, self._next_heartbeat) - self._clock())
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
                now = self._clock()
                self._expire_pending(now)
                self._apply(door.tick(self._door, now=now, timings=self._timings))
                self._drain(now)
                if now >= self._next_heartbeat:
                    self._next_heartbeat = now + self.settings.heartbeat_s
                    self._send_heartbeat(now)
            self._record_what_is_queued()
            self._hw.lock.lock()
            self._flush(self._clock() + self.settings.shutdown_flush_s)
        finally:
            self.final_outbox_depth = self._store.depth()
            self._hw.lock.lock()
            self._transport.publish_state(
                station_state(self.station_id, self.session_id, online=False, now=self._clock())
            )
            self._transport.stop()
            self._hw.camera.close()
            self._store.close()

    def _flush(self, deadline: float) -> None:
        """On the way out, give the outbox a bounded moment to empty; what stays is sent at
        the next start."""
        while self._connected and self._store.depth() and self._clock() < deadline:
            try:
                item = self._inbox.get(timeout=0.05)
            except queue.Empty:
                pass
            else:
                if isinstance(item, AckArrived | LinkChanged):
                    self._handle(item)
            self._drain(self._clock())

    def _record_what_is_queued(self) -> None:
        """On the way out: door and button changes already queued still get into the outbox."""
        try:
            while True:
                item = self._inbox.get_nowait()
                if isinstance(item, DoorChanged | ExitPressed):
                    self._handle(item)
        except queue.Empty:
            return

    def _handle(self, item: AgentInput) -> None:
        match item:
            case DecisionArrived(decision):
                self._on_decision(decision)
            case ConfigArrived(config):
                self._on_config(config)
            case AckArrived(ack):
                self._on_ack(ack)
            case LinkChanged(connected):
                self._on_link(connected)
            case CommandArrived(command, retained):
                self._on_command(command, retained)
            case DoorChanged(is_open, at):
                self._apply(
                    door.door_changed(self._door, is_open=is_open, now=at, timings=self._timings)
                )
            case ExitPressed(at):
                self._emit(EventKind.EXIT_PRESSED, at)
                self._release(Passage.EXIT, at)

    def _release(self, passage: Passage, now: float, rider_id: str | None = None) -> None:
        self._apply(
            door.release(
                self._door, now=now, passage=passage, rider_id=rider_id, timings=self._timings
            )
        )

    def _apply(self, step: door.Step) -> None:
        """Whatever call produced the step: move the lock, record what the door did and which
        alarms began or ended."""
        self._door = step.state
        for action in step.actions:
            if action is door.LockAction.UNLOCK:
                self._hw.lock.unlock()
            else:
                self._hw.lock.lock()
        for change in step.changes:
            if change.is_open:
                self._emit(
                    EventKind.DOOR_OPENED,
                    change.at,
                    passage=change.passage,
                    rider_id=change.rider_id,
                )
            else:
                self._emit(EventKind.DOOR_CLOSED, change.at)
        for alarm in step.alarms_raised:
            self._emit(
                EventKind.ALARM_RAISED,
                alarm.at,
                alarm=alarm.kind.value,
                detail=alarm.detail or None,
            )
        for kind in step.alarms_cleared:
            self._emit(EventKind.ALARM_CLEARED, self._clock(), alarm=kind.value)

    # -- scanning and deciding ---------------------------------------------------------
    def _scan_frame(self) -> None:
        frame = self._hw.camera.read()
        now = self._clock()
        self._apply(
            door.camera_status(self._door, health=classify(frame), now=now, timings=self._timings)
        )
        if frame is None:
            return
        self._last_frame_at = now
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
        standing = self._standing_refusal()
        if standing is not None:  # no need to ask: the station is closed to everyone
            self._deny(standing, now, DecidedBy.STATION, rider_id=verdict.rider_id)
            return
        if self._store.seen(verdict.nonce, now):
            self._deny(Reason.REPLAYED, now, DecidedBy.STATION, rider_id=verdict.rider_id)
            return
        request_id = uuid.uuid4().hex
        if not self._connected:
            self._decide_offline(verdict, request_id, now)  # no point waiting for an answer
            return
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
        if decision.allowed:
            self._grant(pending.claims, decision.request_id, now, DecidedBy.SERVER)
        else:
            self._deny(
                decision.reason,
                now,
                DecidedBy.SERVER,
                decision.request_id,
                rider,
                nearby=decision.nearby_station,
            )

    def _expire_pending(self, now: float) -> None:
        for request_id, pending in list(self._pending.items()):
            if now >= pending.deadline:
                del self._pending[request_id]
                self._decide_offline(pending.claims, request_id, now)

    def _standing_refusal(self) -> Reason | None:
        if self.lockdown:
            return Reason.LOCKDOWN
        if self.mode is StationMode.MAINTENANCE:
            return Reason.MAINTENANCE
        return None

    def offline_refusal(self, now: float) -> Reason | None:
        """Why this station may not decide on its own now, or None."""
        if self.settings.offline_entry is OfflineEntry.DENY:
            return Reason.SERVER_UNAVAILABLE
        refusal = offline_refusal(
            self._view,
            now=now,
            clock_offset_s=self.clock_offset_s,
            max_denylist_age_s=self.settings.max_denylist_age_s,
            max_clock_offset_s=self.settings.max_clock_offset_s,
        )
        if refusal in (Reason.DENYLIST_STALE, Reason.CLOCK_UNTRUSTED) and (
            self.mode is StationMode.FREE_ENTRY
        ):
            # Heat wave, typhoon, cold snap: a genuine code gets in even when the station
            # cannot be sure it is still valid; shelter comes first.
            return None
        return refusal

    def _decide_offline(self, claims: Claims, request_id: str, now: float) -> None:
        """The code passed every local check; only the server's part is missing."""
        refusal = self.offline_refusal(now)
        if refusal is None:
            self._grant(claims, request_id, now, DecidedBy.STATION)
        else:
            self._deny(refusal, now, DecidedBy.STATION, request_id, claims.rider_id)

    def _grant(self, claims: Claims, request_id: str, now: float, decided_by: DecidedBy) -> None:
        def build(epoch: str, seq: int) -> StationEvent:
            return self._event(
                epoch,
                seq,
                EventKind.ACCESS_GRANTED,
                now,
                request_id=request_id,
                rider_id=claims.rider_id,
                reason=Reason.GRANTED,
                decided_by=decided_by,
                nonce=claims.nonce.hex(),
            )

        # Nonce and event committed together, before the lock moves.
        expires = claims.expires_at + self.settings.clock_skew_s
        self._store.record_grant(claims.nonce, expires, now, build)
        self._appended()
        self._release(Passage.ENTRY, now, claims.rider_id)
        self._hw.display.show(allowed=True, reason=Reason.GRANTED)

    def _deny(
        self,
        reason: Reason,
        now: float,
        decided_by: DecidedBy,
        request_id: str | None = None,
        rider_id: str | None = None,
        nearby: str | None = None,
    ) -> None:
        self._hw.display.show(allowed=False, reason=reason, nearby=nearby)
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

    # -- the outbox --------------------------------------------------------------------
    def _event(
        self, epoch: str, seq: int, kind: EventKind, at: float, **fields: object
    ) -> StationEvent:
        return StationEvent.model_validate(
            {
                "event_id": uuid.uuid4().hex,
                "station_id": self.station_id,
                "epoch": epoch,
                "seq": seq,
                "kind": kind,
                "occurred_at": _utc(at),
                **fields,
            }
        )

    def _emit(self, kind: EventKind, at: float, **fields: object) -> None:
        self._store.append_event(lambda epoch, seq: self._event(epoch, seq, kind, at, **fields))
        self._appended()

    def _appended(self) -> None:
        self.events_emitted += 1
        self._drain_needed = True

    def _drain(self, now: float) -> None:
        """Send the oldest unacknowledged events, in order, a window at a time."""
        if not self._connected:
            return
        resend_before = now - self.settings.outbox_resend_s
        if any(sent_at < resend_before for sent_at in self._in_flight.values()):
            self._in_flight = {s: t for s, t in self._in_flight.items() if t >= resend_before}
            self._drain_needed = True
        if not self._drain_needed:
            return
        self._drain_needed = False
        for seq, payload in self._store.pending(limit=self.settings.outbox_window):
            if seq in self._in_flight:
                continue
            self._transport.publish_event(payload)
            self._in_flight[seq] = now
            self._highest_sent = max(self._highest_sent, seq)

    def _on_ack(self, ack: EventsAck) -> None:
        if ack.station_id != self.station_id or ack.epoch != self._store.epoch:
            log.warning("%s: ignored an acknowledgement for another stream", self.station_id)
            return
        named = list(ack.acked) + [seq for pair in ack.missing for seq in pair]
        if any(seq > self._highest_sent for seq in named):
            # The server cannot have stored what we never sent: trust none of this message.
            log.warning("%s: ignored an acknowledgement ahead of what was sent", self.station_id)
            return
        self._store.acknowledge(ack.acked)
        for seq in ack.acked:
            self._in_flight.pop(seq, None)
        for first, last in ack.missing:  # the server noticed a gap: send those again now
            for seq in list(self._in_flight):
                if first <= seq <= last:
                    del self._in_flight[seq]
        self._drain_needed = True

    def _on_link(self, connected: bool) -> None:
        self._connected = connected
        self._in_flight.clear()  # after a reconnect, whatever was in flight goes again
        self._drain_needed = True
        if not connected:
            now = self._clock()
            for request_id, pending in list(self._pending.items()):
                del self._pending[request_id]
                self._decide_offline(pending.claims, request_id, now)

    # -- configuration and health ------------------------------------------------------
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
        self.mode = config.mode
        self._set_lockdown(config.lockdown)
        log.info("%s: config v%d applied", self.station_id, config.config_version)

    def _set_lockdown(self, on: bool) -> None:
        if on and not self.lockdown:
            self._apply(door.relock(self._door, now=self._clock(), timings=self._timings))
        self.lockdown = on

    def _on_command(self, command: StationCommand, retained: bool) -> None:
        now = self._clock()
        check = accept_command(
            Command(
                command_id=command.command_id,
                station_id=command.station_id,
                kind=command.kind,
                issued_at=command.issued_at.timestamp(),
                expires_at=command.expires_at.timestamp(),
                issued_by=command.issued_by,
                reason=command.reason,
                mode=command.mode,
            ),
            station_id=self.station_id,
            retained=retained,
            now=now,
            seen=self._seen_commands,
        )
        self._seen_commands = check.seen
        if check.refusal is not None:
            log.warning("%s: refused command %s: %s", self.station_id, command.kind, check.refusal)
            if command.station_id == self.station_id:  # never answer for another station
                self._emit(
                    EventKind.COMMAND_REFUSED,
                    now,
                    command_id=command.command_id,
                    detail=f"{command.kind.value}: {check.refusal.value}",
                )
            return
        if command.kind is CommandKind.REMOTE_UNLOCK:
            if self.lockdown:
                self._emit(
                    EventKind.COMMAND_REFUSED,
                    now,
                    command_id=command.command_id,
                    detail="remote_unlock: station in lockdown",
                )
                return
            self._release(Passage.ENTRY, now)
        elif command.kind is CommandKind.LOCKDOWN:
            self._set_lockdown(True)
        elif command.kind is CommandKind.LOCKDOWN_RELEASE:
            self._set_lockdown(False)
        elif command.mode is not None:
            self.mode = command.mode
        self._emit(
            EventKind.COMMAND_DONE,
            now,
            command_id=command.command_id,
            detail=f"{command.kind.value} by {command.issued_by}: {command.reason}",
        )

    def _send_heartbeat(self, now: float) -> None:
        if not self._connected:
            return
        self._transport.publish_heartbeat(
            Heartbeat(
                station_id=self.station_id,
                session_id=self.session_id,
                sent_at=_utc(now),
                interval_s=self.settings.heartbeat_s,
                camera_ok=now - self._last_frame_at < CAMERA_SILENCE_S,
                clock_offset_s=self.clock_offset_s,
                outbox_depth=self._store.depth(),
                epoch=self._store.epoch,
                outbox_floor=self._store.floor(),
                config_version=self._view.config_version if self._view else 0,
                offline_refusal=self.offline_refusal(now),
            )
        )
