"""Scan to unlock: a frame holding a valid rider code handed to the agent → ``unlock()``.

A private Mosquitto as deployed (TLS, an account per station), the server as a process on
SQLite, and one real station agent in this process (its MQTT transport, SQLite store, the loop
and the decoder of ``hardware.default_decoder``) on simulated hardware. Each entry: a rider's
fresh code (fetched from the rider's link, drawn as the rider page draws it, held up at
640x480) is handed to the camera, which announces it; the clock stops when the lock is told to
open. Every entry is timed in parts, on this machine's one clock:

- wake: the frame announced → the loop starts decoding it;
- decode; local check (signature, claims, replay cache) → the request handed to MQTT;
- to the server's handler: the request sent → the server's ``decided_at`` (taken as its handler
  starts); handler + back: → the decision in the inbox
  (its signature checked);
- actuation: the decision in the inbox → ``unlock()`` (the grant committed to SQLite first).

Side by side, one entry in ``entries / before`` goes to a second station running the agent as it
was (camera polled every ``frame_interval_s``, the decoder of before). Then the offline path:
the server stopped (the agent waits ``decision_timeout_s`` then decides itself) and the broker
stopped (the agent knows the link is down and decides at once).

    .venv/bin/python bench/scan_to_unlock.py [--entries 1000] [--before 200] [--offline 50]
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scan_loop import DecoderAsItWas
from demo.broker import PrivateBroker
from demo.processes import free_port
from demo.server_process import ServerProcess
from firmware_sim.camera import Pose, SimCamera
from firmware_sim.display import SimDisplay
from firmware_sim.door import SimDoor
from firmware_sim.exit_button import SimExitButton
from firmware_sim.lock import SimLock
from protocol.payloads import AccessRequest, ProvisioningBundle
from protocol.reasons import DoorHint, Reason
from server.broker.accounts import DEFAULT_SERVER_USERNAME, BrokerAccount, Role
from server.riders.tokens import render_qr_png
from station_agent.adapters.hardware import default_decoder
from station_agent.adapters.mqtt_paho import MqttTransport
from station_agent.adapters.store_sqlite import AgentStore
from station_agent.enrolment import settings_from_bundle
from station_agent.inbox import AgentInput, DecisionArrived
from station_agent.loop import StationAgent
from station_agent.ports import Frame, Hardware, QrDecoder
from station_agent.trust import PinnedKeys


@dataclass
class Marks:
    """When each step of the current entry happened (time.time(), one clock for all)."""

    handed: float = 0.0
    decode_start: float = 0.0
    decode_end: float = 0.0
    requested: float = 0.0
    decided_at: float = 0.0  # the server's, from the decision
    decision_in: float = 0.0
    unlocked: float = 0.0
    allowed: bool | None = None
    shown: str = ""  # what the rider was told
    done: threading.Event = field(default_factory=threading.Event)


class HandCamera:
    """Implements Camera: holds the frame it was handed and announces it."""

    def __init__(self, frame: Frame, *, announce: bool = True) -> None:
        self._frame = frame
        self._announce = announce
        self._subscribers: list[Callable[[], None]] = []

    def hand(self, frame: Frame) -> None:
        self._frame = frame
        for callback in self._subscribers:
            callback()

    def read(self) -> Frame | None:
        return self._frame

    def subscribe(self, callback: Callable[[], None]) -> None:
        if self._announce:  # the agent as it was only polled
            self._subscribers.append(callback)

    def close(self) -> None: ...


class TimedDecoder:
    def __init__(self, decoder: QrDecoder, marks: Callable[[], Marks]) -> None:
        self._decoder, self._marks = decoder, marks

    def decode(self, frame: Frame) -> list[str]:
        started = time.time()
        texts = self._decoder.decode(frame)
        if texts:
            marks = self._marks()
            marks.decode_start, marks.decode_end = started, time.time()
        return texts


class TimedDisplay(SimDisplay):
    def __init__(self, marks: Callable[[], Marks]) -> None:
        super().__init__()
        self._marks = marks

    def show(self, *, allowed: bool, reason: Reason, hint: DoorHint | None = None) -> None:
        super().show(allowed=allowed, reason=reason, hint=hint)
        marks = self._marks()
        marks.shown = reason.value
        if not allowed:
            marks.done.set()  # no unlock will come


class TimedLock(SimLock):
    def __init__(self, marks: Callable[[], Marks]) -> None:
        super().__init__()
        self._marks = marks

    def unlock(self) -> None:
        super().unlock()
        marks = self._marks()
        if not marks.unlocked:
            marks.unlocked = time.time()
            marks.done.set()


class TimedInbox(queue.SimpleQueue[AgentInput]):
    def __init__(self, marks: Callable[[], Marks]) -> None:
        self._marks = marks

    def put(self, item: AgentInput, block: bool = True, timeout: float | None = None) -> None:
        if isinstance(item, DecisionArrived):
            marks = self._marks()
            marks.decision_in = time.time()
            marks.decided_at = item.decision.decided_at.timestamp()
            marks.allowed = item.decision.allowed
        super().put(item, block, timeout)


class TimedTransport(MqttTransport):
    marks: Callable[[], Marks]

    def request_access(self, request: AccessRequest) -> None:
        self.marks().requested = time.time()
        super().request_access(request)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class BenchStation:
    """One station agent in this process, timed; ``as_it_was``: the camera polled every
    ``frame_interval_s`` (0.1 s) and the decoder of before (bench/scan_loop.py)."""

    def __init__(
        self, bundle: ProvisioningBundle, data_dir: Path, empty: Frame, *, as_it_was: bool
    ) -> None:
        self.current = Marks()
        self.empty = empty
        settings = settings_from_bundle(bundle, data_dir=data_dir, unlock_s=0.1, heartbeat_s=600)
        self.camera = HandCamera(empty, announce=not as_it_was)
        self.lock = TimedLock(self.marks)
        inbox = TimedInbox(self.marks)
        store = AgentStore(settings.store_path)
        pinned = PinnedKeys(store.pinned_control_keys() or settings.control_keys)
        transport = TimedTransport(
            settings, inbox, session_id=uuid.uuid4().hex, clock=time.time, pinned=pinned
        )
        transport.marks = self.marks
        decoder = DecoderAsItWas() if as_it_was else default_decoder()
        hardware = Hardware(
            self.camera,
            TimedDecoder(decoder, self.marks),
            self.lock,
            SimDoor(self.lock),
            SimExitButton(),
            TimedDisplay(self.marks),
        )
        self.agent = StationAgent(
            settings, hardware, transport, inbox, time.time, "bench", store, pinned=pinned
        )
        self.runner = threading.Thread(target=self.agent.run, name=bundle.station_id, daemon=True)

    def marks(self) -> Marks:
        return self.current

    def start(self) -> None:
        self.runner.start()
        deadline = time.monotonic() + 20
        while not self.agent.configured and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.agent.configured, "the station got no config"

    def stop(self) -> None:
        self.agent.stopping.set()
        self.runner.join(15)

    def entry(self, frame: Frame) -> Marks:
        """Hand the frame to the camera; wait for the lock (or the refusal)."""
        self.current = marks = Marks()
        marks.handed = time.time()
        self.camera.hand(frame)
        marks.done.wait(5.0)
        self.camera.hand(self.empty)  # the rider walks in
        deadline = time.monotonic() + 2.0
        while self.lock.unlocked and time.monotonic() < deadline:  # relocked after unlock_s
            time.sleep(0.01)
        return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--before", type=int, default=200, help="entries, agent as it was")
    parser.add_argument("--offline", type=int, default=50, help="entries per offline path")
    parser.add_argument("--riders", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="ws-scan-unlock-"))
    with ExitStack() as stack:
        server_password = secrets.token_urlsafe(16)
        account = BrokerAccount.with_password(DEFAULT_SERVER_USERNAME, server_password, Role.SERVER)
        broker = stack.enter_context(PrivateBroker(workdir=work / "broker", accounts=[account]))
        server = ServerProcess(
            data_dir=work / "server",
            http_port=free_port(),
            broker_port=broker.port,
            extra_env=broker.server_env(server_password),
        ).start()
        stack.callback(server.stop)
        http = server.client()
        stack.callback(http.close)
        sim = SimCamera(seed=args.seed)
        empty = sim.read()
        assert empty is not None
        stations = {}
        for name, as_it_was in (("now", False), ("before", True)):
            reply = http.post(
                "/api/stations", json={"id": f"bench-{name}", "name": name, "capacity": 500}
            )
            bundle = ProvisioningBundle.model_validate(reply.raise_for_status().json()["bundle"])
            station = BenchStation(bundle, work / name, empty, as_it_was=as_it_was)
            station.start()
            stack.callback(station.stop)
            stations[name] = station
        links = [
            http.post("/api/riders", json={}).raise_for_status().json()["link"]
            for _ in range(args.riders)
        ]
        issued = 0

        def code_frame(token: str | None = None) -> tuple[str, Frame]:
            """A rider's fresh code (each rider in turn) held up to the camera."""
            nonlocal issued
            if token is None:
                link = links[issued % len(links)]
                issued += 1
                token = http.get(f"{link}/token").raise_for_status().json()["token"]
            sim.present(render_qr_png(token), Pose.random(rng))
            frame = sim.read()
            assert frame is not None
            return token, frame

        for station in stations.values():  # warm up: connections, caches
            for _ in range(5):
                station.entry(code_frame()[1])
        # Side by side: every few entries of the agent now, one of the agent as it was.
        every = max(1, args.entries // max(1, args.before))
        online: list[Marks] = []
        before: list[Marks] = []
        for i in range(args.entries):
            online.append(stations["now"].entry(code_frame()[1]))
            if i % every == 0 and len(before) < args.before:
                before.append(stations["before"].entry(code_frame()[1]))
        spare = [code_frame()[0] for _ in range(2 * args.offline)]  # they live 60 s: enough
        server.stop()
        now = stations["now"]
        server_down = [now.entry(code_frame(token)[1]) for token in spare[: args.offline]]
        broker.stop()
        deadline = time.monotonic() + 10
        while now.agent.state.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        broker_down = [now.entry(code_frame(token)[1]) for token in spare[args.offline :]]
        result = report(online, before, server_down, broker_down)
    print(json.dumps(result))


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(values) * 1e3,
        "p95": quantile(values, 0.95) * 1e3,
        "p99": quantile(values, 0.99) * 1e3,
        "max": max(values) * 1e3,
    }


def parts_of(entries: list[Marks]) -> dict[str, list[float]]:
    opened = [m for m in entries if m.unlocked and m.decision_in and m.allowed]
    return {
        "wake (announced -> decoding)": [m.decode_start - m.handed for m in opened],
        "decode": [m.decode_end - m.decode_start for m in opened],
        "local check -> request sent": [m.requested - m.decode_end for m in opened],
        "to the server's handler": [m.decided_at - m.requested for m in opened],
        "handler + back to the inbox": [m.decision_in - m.decided_at for m in opened],
        "round trip (sent -> inbox)": [m.decision_in - m.requested for m in opened],
        "actuation (inbox -> unlock)": [m.unlocked - m.decision_in for m in opened],
        "scan to unlock": [m.unlocked - m.handed for m in opened],
    }


def report(
    online: list[Marks], before: list[Marks], server_down: list[Marks], broker_down: list[Marks]
) -> dict[str, object]:
    now, then = parts_of(online), parts_of(before)
    not_opened = Counter(m.shown or "code not read" for m in online if not m.unlocked)
    print(
        f"\nopened by the server's decision (640x480): now {len(now['scan to unlock'])} of "
        f"{len(online)}, as it was {len(then['scan to unlock'])} of {len(before)}; "
        f"not opened: {dict(not_opened)}"
    )
    print(f"{'ms':30s} {'p50':>7s} {'p95':>7s} {'p99':>7s} {'max':>7s} | as it was: p50, p99")
    table: dict[str, dict[str, dict[str, float]]] = {}
    for name, values in now.items():
        row, old = _ms(values), _ms(then[name])
        table[name] = {"now": row, "as_it_was": old}
        print(
            f"{name:30s} {row['p50']:7.2f} {row['p95']:7.2f} {row['p99']:7.2f} {row['max']:7.2f}"
            f" | {old['p50']:7.2f} {old['p99']:7.2f}"
        )
    result: dict[str, object] = {
        "entries": len(online),
        "opened_by_server": len(now["scan to unlock"]),
        "not_opened": dict(not_opened),
        "entries_as_it_was": len(before),
        "parts_ms": table,
    }
    for name, entries in (("server stopped", server_down), ("broker stopped", broker_down)):
        unlocked = [m.unlocked - m.handed for m in entries if m.unlocked]
        offline = _ms(unlocked) if unlocked else {}
        result[name] = {"entries": len(entries), "opened_offline": len(unlocked), **offline}
        print(
            f"offline, {name}: {len(unlocked)} of {len(entries)} opened by the station; "
            + (f"p50 {offline['p50']:.1f} ms, p99 {offline['p99']:.1f} ms" if offline else "")
        )
    return result


if __name__ == "__main__":
    main()
