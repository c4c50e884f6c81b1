"""The agent's loop: one thread owns all state; inputs are queued, frames read as they come.

Hardware callbacks and the MQTT adapter only put ``inbox`` values into the queue, so no state
is shared between threads and no handler runs inside a network callback. The loop takes each
input to the flow it belongs to, and reads a frame when the camera says a new one is ready (at
its native rate) or every ``frame_interval_s`` at least (a camera that stopped calling back is
still watched); a frame it has already decoded is not decoded again. Then it runs the timers
(decision deadlines, the door's), drains the outbox and sends the heartbeat when due:

- ``access.py``: scan → local check → request → decision (or the station's own) → grant/deny;
- ``control.py``: config, trust pages (keys, denylist), commands, lockdown and mode;
- ``outbox.py``: events committed, sent in order, deleted on the server's acknowledgement;
- ``doorway.py``: the door machine of ``core/door.py`` driving the lock;
- ``heartbeat.py``: the station's health, every ``heartbeat_s``.
"""

from __future__ import annotations

import queue
import threading

from protocol.payloads import EventKind, Passage, StationMode
from station_agent.access import AccessFlow
from station_agent.config import AgentSettings
from station_agent.control import Control
from station_agent.core.camera_health import classify
from station_agent.core.door import CameraHealth, DoorTimings
from station_agent.doorway import Doorway
from station_agent.heartbeat import HeartbeatSender
from station_agent.inbox import (
    FRAME_READY,
    AckArrived,
    AgentInput,
    CommandArrived,
    ConfigArrived,
    ConfigDropped,
    DecisionArrived,
    DoorChanged,
    ExitPressed,
    FrameReady,
    Inbox,
    LinkChanged,
    TrustArrived,
)
from station_agent.metrics import AgentMetrics
from station_agent.outbox import OutboxSender
from station_agent.ports import Clock, Frame, Hardware, Store, Supervisor, Transport
from station_agent.state import AgentState
from station_agent.trust import PinnedKeys
from telemetry.logs import log_context

GAUGES_EVERY_S = 1.0


class StationAgent:
    def __init__(
        self,
        settings: AgentSettings,
        hardware: Hardware,
        transport: Transport,
        inbox: Inbox,
        clock: Clock,
        session_id: str,
        store: Store,
        *,
        pinned: PinnedKeys | None = None,
        supervisor: Supervisor | None = None,
        metrics: AgentMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.station_id = settings.station_id
        self.session_id = session_id
        self.stopping = threading.Event()
        self.state = AgentState()
        self.final_outbox_depth = 0  # left unacknowledged at the last stop
        self._hw = hardware
        self._transport = transport
        self._inbox = inbox
        self._clock = clock
        self._store = store
        self._supervisor = supervisor
        self.metrics = metrics or AgentMetrics()
        self.metrics_address: tuple[str, int] | None = None  # where the exporter listens
        self._gauges_due = 0.0
        now = clock()
        self._outbox = OutboxSender(
            self.station_id,
            store,
            transport,
            window=settings.outbox_window,
            resend_s=settings.outbox_resend_s,
        )
        timings = DoorTimings(
            unlock_s=settings.unlock_s,
            held_open_s=settings.held_open_s,
            debounce_s=settings.door_debounce_s,
            camera_trouble_s=settings.camera_trouble_s,
        )
        self._doorway = Doorway(hardware.lock, self._outbox, timings, clock)
        self._access = AccessFlow(
            settings,
            self.state,
            store=store,
            transport=transport,
            outbox=self._outbox,
            doorway=self._doorway,
            display=hardware.display,
            now=now,
            metrics=self.metrics,
        )
        # The transport checks signatures against these; a verified config may replace them.
        self.pinned = pinned or PinnedKeys(store.pinned_control_keys() or settings.control_keys)
        self._control = Control(
            settings,
            self.state,
            outbox=self._outbox,
            doorway=self._doorway,
            pinned=self.pinned,
            store=store,
        )
        self._control.restore_trust()
        self._control.restore_config(now)
        self._heartbeat = HeartbeatSender(
            settings, self.state, session_id=session_id, store=store, transport=transport, now=now
        )
        self._next_frame = now
        self._frame_ready = False  # the camera called back since the last read
        self._last_frame: Frame | None = None  # the frame decoded last, not to decode it twice
        self.frames_decoded = 0
        hardware.camera.subscribe(lambda: inbox.put(FRAME_READY))
        hardware.door.subscribe(lambda is_open: inbox.put(DoorChanged(is_open, clock())))
        hardware.exit_button.subscribe(lambda: inbox.put(ExitPressed(clock())))

    # -- what the demo and tests read --------------------------------------------------
    @property
    def configured(self) -> bool:
        return self.state.configured

    @property
    def mode(self) -> StationMode:
        return self.state.mode

    @property
    def lockdown(self) -> bool:
        return self.state.lockdown

    @property
    def outbox_depth(self) -> int:
        return self._outbox.depth

    @property
    def events_emitted(self) -> int:
        """Events this process has put into the outbox."""
        return self._outbox.events_emitted

    @property
    def highest_sent(self) -> int:
        """The highest outbox seq sent to the server so far."""
        return self._outbox.highest_sent

    @property
    def store(self) -> Store:
        """The outbox and replay cache (for tools and tests to read)."""
        return self._store

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> None:
        """Run until ``stopping`` is set; then relock and say goodbye."""
        with log_context(station_id=self.station_id):  # this thread's log lines name it
            self._run()

    def _run(self) -> None:
        exporter = None
        if self.settings.metrics_port is not None:
            exporter = self.metrics.serve(self.settings.metrics_port)
            host, port = exporter.server_address[:2]
            self.metrics_address = (str(host), port)
        self._transport.start()
        self._next_frame = self._clock()
        if self._supervisor is not None:
            self._supervisor.ready()
        try:
            while not self.stopping.is_set():
                self.run_once(wait_s=max(0.0, self.next_wake() - self._clock()))
            self._record_what_is_queued()
            self._hw.lock.lock()
            self._flush(self._clock() + self.settings.shutdown_flush_s)
        finally:
            if self._supervisor is not None:
                self._supervisor.stopping()
            self.final_outbox_depth = self._store.depth()
            self._hw.lock.lock()
            self._transport.publish_state(online=False)
            self._transport.stop()
            self._hw.camera.close()
            self._store.close()
            if exporter is not None:
                exporter.shutdown()
                exporter.server_close()

    def next_wake(self) -> float:
        """When the loop must turn even if nothing arrives: the watchdog poll of the camera,
        the heartbeat, or a rider's request the server has left unanswered."""
        return min(self._next_frame, self._heartbeat.due_at, self._access.next_deadline)

    def run_once(self, wait_s: float = 0.0) -> None:
        """One turn: whatever is queued (waiting up to ``wait_s`` for the first), a frame when
        a new one is ready or the poll is due, then the timers, the outbox and the heartbeat."""
        try:
            self.handle(self._inbox.get(timeout=wait_s))
            while True:  # drain whatever else is waiting before the next frame
                self.handle(self._inbox.get_nowait())
        except queue.Empty:
            pass
        now = self._clock()
        if self._frame_ready or now >= self._next_frame:
            self._frame_ready = False
            self._next_frame = now + self.settings.frame_interval_s
            self._read_frame()
        now = self._clock()
        self._access.expire(now)
        self._doorway.tick(now)
        self._drain(now)
        self._heartbeat.tick(now)
        if now >= self._gauges_due:  # a count on the store: once a second is plenty
            self._gauges_due = now + GAUGES_EVERY_S
            self.metrics.outbox_depth.set(self._outbox.depth)
            self.metrics.link_up.set(1 if self.state.connected else 0)
        if self._supervisor is not None:
            self._supervisor.alive()

    def handle(self, item: AgentInput) -> None:
        now = self._clock()
        match item:
            case DecisionArrived(decision):
                self._access.on_decision(decision, now)
            case ConfigArrived(config):
                self._control.on_config(config, now)
            case TrustArrived(page):
                self._control.on_trust(page)
            case ConfigDropped(page, why):
                self._control.on_dropped(page, why)
            case AckArrived(ack):
                self._outbox.on_ack(ack)
            case LinkChanged(connected):
                self.state.connected = connected
                self._outbox.link_changed()
                if not connected:
                    self._access.link_lost(now)
            case CommandArrived(command, retained):
                self._control.on_command(command, retained, now)
            case DoorChanged(is_open, at):
                self._doorway.contact(is_open, at)
            case ExitPressed(at):
                self._outbox.emit(EventKind.EXIT_PRESSED, at)
                self._doorway.release(Passage.EXIT, at)
            case FrameReady():
                self._frame_ready = True  # read once the queue is drained

    def _read_frame(self) -> None:
        frame = self._hw.camera.read()
        now = self._clock()
        health = classify(frame)
        self._doorway.camera(health, now)
        if frame is None:
            return
        self._heartbeat.frame_seen(now, picture=health is CameraHealth.OK)
        if frame is self._last_frame:  # polled before the camera had a new one
            return
        self._last_frame = frame
        self.frames_decoded += 1
        self.metrics.frames.inc()
        with self.metrics.decode_seconds.time():
            texts = self._hw.decoder.decode(frame)
        for text in texts:
            self._access.on_scan(text, self._clock())

    def _drain(self, now: float) -> None:
        if self.state.connected:
            self._outbox.drain(now)

    # -- stopping ----------------------------------------------------------------------
    def _record_what_is_queued(self) -> None:
        """On the way out: door and button changes already queued still get into the outbox."""
        try:
            while True:
                item = self._inbox.get_nowait()
                if isinstance(item, DoorChanged | ExitPressed):
                    self.handle(item)
        except queue.Empty:
            return

    def _flush(self, deadline: float) -> None:
        """On the way out, give the outbox a bounded moment to empty; what stays is sent at
        the next start."""
        while self.state.connected and self._store.depth() and self._clock() < deadline:
            try:
                item = self._inbox.get(timeout=0.05)
            except queue.Empty:
                pass
            else:
                if isinstance(item, AckArrived | LinkChanged):
                    self.handle(item)
            self._drain(self._clock())
