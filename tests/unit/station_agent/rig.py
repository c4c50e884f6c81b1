"""The agent's loop on in-memory parts: a fake clock, a Store and a Transport in memory, the
simulated lock, door, exit button and display, and a camera whose decoder reads what the test
holds up. Time only moves when a test moves it; the loop turns only when a test turns it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_sim.display import Shown, SimDisplay
from firmware_sim.door import SimDoor
from firmware_sim.exit_button import SimExitButton
from firmware_sim.lock import SimLock
from protocol.credential import Claims, public_key_to_text, raw_public_key, sign_token
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    CommandKind,
    DenylistPage,
    EventKind,
    EventsAck,
    Heartbeat,
    StationCommand,
    StationConfig,
    StationEvent,
    StationMode,
    TrustKeys,
    dump,
    parse,
)
from protocol.reasons import Reason
from protocol.signing import SigningKey
from protocol.topics import DENYLIST_BUCKETS
from protocol.trust import by_bucket, denylist_page
from station_agent.config import AgentSettings
from station_agent.inbox import (
    AckArrived,
    AgentInput,
    CommandArrived,
    ConfigArrived,
    DecisionArrived,
    Inbox,
    LinkChanged,
    TrustArrived,
)
from station_agent.loop import StationAgent
from station_agent.ports import EventBuilder, Frame, Hardware

NOW = 1_800_000_000  # whole seconds: token claims carry whole seconds
STATION = "station-01"
AUDIENCE = "ws-test"
KID = "k1"
KEY = Ed25519PrivateKey.generate()
EPOCH = "0123456789abcdef"
CONTROL = SigningKey.generate()  # the server's control key, pinned by the station
STATION_KEY = SigningKey.generate()  # the station's own
IDENTITY: dict[str, Any] = {
    "control_keys": {CONTROL.kid: CONTROL.public_key_text},
    "station_key": STATION_KEY.to_text(),
}


# -- fakes of the ports ---------------------------------------------------------------------
class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MemoryStore:
    """The Store port in memory, with the same numbering and replay rules as the SQLite one."""

    def __init__(self, epoch: str = EPOCH) -> None:
        self.epoch = epoch
        self._last_seq = 0
        self.outbox: dict[int, bytes] = {}
        self.replay: dict[bytes, float] = {}  # nonce -> kept until
        self.appended: list[StationEvent] = []  # every event ever committed, acknowledged or not
        self.closed = False
        self.pinned: dict[str, str] | None = None
        self.kept_pages: dict[str, bytes] = {}
        self.kept_config: bytes | None = None

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def seen(self, nonce: bytes, now: float) -> bool:
        until = self.replay.get(nonce)
        return until is not None and until >= now

    def record_grant(
        self, nonce: bytes, expires_at: float, now: float, build: EventBuilder
    ) -> StationEvent:
        self.replay = {n: until for n, until in self.replay.items() if until >= now}
        self.replay[nonce] = expires_at
        return self.append_event(build)

    def append_event(self, build: EventBuilder) -> StationEvent:
        seq = self._last_seq + 1
        event = build(self.epoch, seq)
        self.outbox[seq] = dump(event)
        self._last_seq = seq
        self.appended.append(event)
        return event

    def pending(self, *, after_seq: int = 0, limit: int = 100) -> list[tuple[int, bytes]]:
        return [(seq, self.outbox[seq]) for seq in sorted(self.outbox) if seq > after_seq][:limit]

    def payloads(self, seqs: Iterable[int]) -> list[tuple[int, bytes]]:
        return [(seq, self.outbox[seq]) for seq in sorted(set(seqs)) if seq in self.outbox]

    def acknowledge(self, seqs: Iterable[int]) -> int:
        return sum(self.outbox.pop(seq, None) is not None for seq in set(seqs))

    def depth(self) -> int:
        return len(self.outbox)

    def floor(self) -> int:
        return min(self.outbox, default=self._last_seq + 1)

    def pinned_control_keys(self) -> dict[str, str] | None:
        return dict(self.pinned) if self.pinned is not None else None

    def pin_control_keys(self, keys: Mapping[str, str]) -> None:
        self.pinned = dict(keys)

    def trust_pages(self) -> dict[str, bytes]:
        return dict(self.kept_pages)

    def save_trust_page(self, name: str, payload: bytes) -> None:
        self.kept_pages[name] = payload

    def station_config(self) -> bytes | None:
        return self.kept_config

    def save_station_config(self, payload: bytes) -> None:
        self.kept_config = payload

    def close(self) -> None:
        self.closed = True


class FakeTransport:
    """The Transport port: remembers what the agent sent. ``on_event`` plays the server."""

    def __init__(self) -> None:
        self.requests: list[AccessRequest] = []
        self.sent: list[StationEvent] = []
        self.heartbeats: list[Heartbeat] = []
        self.states: list[bool] = []  # online flags of the state messages published
        self.running = False
        self.on_event: Callable[[StationEvent], None] | None = None

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def is_connected(self) -> bool:
        return self.running

    def request_access(self, request: AccessRequest) -> None:
        self.requests.append(request)

    def publish_event(self, payload: bytes) -> None:
        event = parse(StationEvent, payload)
        self.sent.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def publish_heartbeat(self, heartbeat: Heartbeat) -> None:
        self.heartbeats.append(heartbeat)

    def publish_state(self, *, online: bool) -> None:
        self.states.append(online)

    @property
    def sent_seqs(self) -> list[int]:
        return [event.seq for event in self.sent]


class FakeCamera:
    """A textured doorway (the camera-health check calls it fine), or nothing when ``dead``."""

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        self._frame: Frame = rng.integers(40, 200, size=(48, 64), dtype=np.uint8)
        self.dead = False
        self.stuck = False  # hands out the same frame again, as a camera between two frames
        self.subscribers: list[Callable[[], None]] = []

    def read(self) -> Frame | None:
        if self.dead:
            return None
        if not self.stuck:
            self._frame = self._frame.copy()  # a new frame at every read
        return self._frame

    def new_frame(self) -> None:
        """The camera's thread has a new frame and says so."""
        self._frame = self._frame.copy()
        for callback in self.subscribers:
            callback()

    def subscribe(self, callback: Callable[[], None]) -> None:
        self.subscribers.append(callback)

    def close(self) -> None:
        pass


class HeldUpDecoder:
    """Reads whatever codes the test is holding up to the camera."""

    def __init__(self) -> None:
        self.showing: list[str] = []
        self.frames = 0

    def decode(self, frame: Frame) -> list[str]:
        self.frames += 1
        return list(self.showing)


# -- messages from the server ----------------------------------------------------------------
def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def token(
    rider_id: str = "r-1",
    *,
    issued_at: int = NOW,
    lifetime_s: int = 60,
    credential_version: int = 1,
) -> tuple[str, Claims]:
    """A genuine rider code, signed with the deployment's key, and its claims."""
    claims = Claims(
        KID, rider_id, AUDIENCE, issued_at, lifetime_s, uuid.uuid4().bytes, credential_version
    )
    return sign_token(claims, KEY), claims


def config(
    version: int = 1,
    *,
    issued_at: float = NOW,
    station_id: str = STATION,
    mode: StationMode = StationMode.NORMAL,
    lockdown: bool = False,
) -> StationConfig:
    """The station's own config: its standing rules."""
    return StationConfig(
        station_id=station_id,
        config_version=version,
        issued_at=at(issued_at),
        mode=mode,
        lockdown=lockdown,
    )


def keys_page(
    version: int = 1,
    *,
    issued_at: float = NOW,
    keys: dict[str, str] | None = None,
    control_keys: dict[str, str] | None = None,
    hotline: str | None = None,
) -> TrustKeys:
    return TrustKeys(
        version=version,
        issued_at=at(issued_at),
        audience=AUDIENCE,
        keys=keys if keys is not None else {KID: public_key_to_text(raw_public_key(KEY))},
        control_keys=control_keys or {CONTROL.kid: CONTROL.public_key_text},
        hotline=hotline,
    )


def denylist_pages(
    version: int = 1, *, issued_at: float = NOW, denylist: dict[str, int] | None = None
) -> list[DenylistPage]:
    """Every bucket's page, as the server's periodic refresh publishes them."""
    buckets = by_bucket(denylist or {})
    return [
        denylist_page(
            bucket, buckets.get(bucket, {}).items(), version=version, issued_at=at(issued_at)
        )
        for bucket in range(DENYLIST_BUCKETS)
    ]


def configure(
    version: int = 1,
    *,
    issued_at: float = NOW,
    station_id: str = STATION,
    denylist: dict[str, int] | None = None,
    mode: StationMode = StationMode.NORMAL,
    lockdown: bool = False,
    keys: dict[str, str] | None = None,
    control_keys: dict[str, str] | None = None,
) -> list[AgentInput]:
    """What a station receives from the server: its config and every trust page."""
    return [
        ConfigArrived(
            config(
                version, issued_at=issued_at, station_id=station_id, mode=mode, lockdown=lockdown
            )
        ),
        TrustArrived(keys_page(version, issued_at=issued_at, keys=keys, control_keys=control_keys)),
        *(
            TrustArrived(page)
            for page in denylist_pages(version, issued_at=issued_at, denylist=denylist)
        ),
    ]


def decision(
    request_id: str,
    *,
    allowed: bool = True,
    reason: Reason = Reason.GRANTED,
    station_id: str = STATION,
    decided_at: float = NOW,
    expires_at: float = NOW + 5,
    nearby: str | None = None,
    nearby_distance_m: int | None = None,
    reopens_at: float | None = None,
) -> DecisionArrived:
    return DecisionArrived(
        AccessDecision(
            request_id=request_id,
            station_id=station_id,
            allowed=allowed,
            reason=reason,
            decided_at=at(decided_at),
            expires_at=at(expires_at),
            nearby_station=nearby,
            nearby_distance_m=nearby_distance_m,
            reopens_at=None if reopens_at is None else at(reopens_at),
        )
    )


def command(
    kind: CommandKind,
    *,
    now: float = NOW,
    command_id: str | None = None,
    station_id: str = STATION,
    mode: StationMode | None = None,
    expires_in_s: float = 30,
    retained: bool = False,
) -> CommandArrived:
    return CommandArrived(
        StationCommand(
            command_id=command_id or uuid.uuid4().hex,
            station_id=station_id,
            kind=kind,
            issued_at=at(now),
            expires_at=at(now + expires_in_s),
            issued_by="staff-wang",
            reason="test",
            mode=mode,
        ),
        retained=retained,
    )


def ack(
    *acked: int,
    missing: list[tuple[int, int]] | None = None,
    epoch: str = EPOCH,
    station_id: str = STATION,
) -> AckArrived:
    return AckArrived(
        EventsAck(station_id=station_id, epoch=epoch, acked=list(acked), missing=missing or [])
    )


# -- the rig -------------------------------------------------------------------------------
@dataclass
class Rig:
    agent: StationAgent
    settings: AgentSettings
    inbox: Inbox
    clock: FakeClock
    store: MemoryStore
    transport: FakeTransport
    camera: FakeCamera
    decoder: HeldUpDecoder
    lock: SimLock
    door: SimDoor
    exit_button: SimExitButton
    display: SimDisplay
    session_id: str = field(default="session-1")

    @staticmethod
    def build(
        *,
        connected: bool = True,
        configured: bool = True,
        store: MemoryStore | None = None,
        **settings: Any,
    ) -> Rig:
        """An agent after its first turn: linked and configured unless told otherwise (on a
        given store: a restart)."""
        agent_settings = AgentSettings(station_id=STATION, **(IDENTITY | settings))
        clock = FakeClock()
        inbox: Inbox = Inbox()
        store, transport = store or MemoryStore(), FakeTransport()
        camera, decoder = FakeCamera(), HeldUpDecoder()
        lock = SimLock()
        door, exit_button, display = SimDoor(lock), SimExitButton(), SimDisplay()
        hardware = Hardware(camera, decoder, lock, door, exit_button, display)
        agent = StationAgent(agent_settings, hardware, transport, inbox, clock, "session-1", store)
        rig = Rig(
            agent, agent_settings, inbox, clock, store, transport, camera, decoder, lock, door,
            exit_button, display,
        )  # fmt: skip
        if connected:
            inbox.put(LinkChanged(connected=True))
        if configured:
            for item in configure():
                inbox.put(item)
        agent.run_once()
        return rig

    def turn(self, after_s: float = 0.0) -> None:
        """Let ``after_s`` seconds pass, then run one turn of the loop."""
        self.clock.advance(after_s)
        self.agent.run_once()

    def send(self, *items: AgentInput) -> None:
        """Queue these (as the adapter or the hardware would) and run one turn."""
        for item in items:
            self.inbox.put(item)
        self.agent.run_once()

    def heartbeat(self) -> Heartbeat:
        """The heartbeat the station sends next (one heartbeat interval from now)."""
        self.turn(self.settings.heartbeat_s)
        return self.transport.heartbeats[-1]

    def scan(self, *texts: str) -> None:
        """Hold codes up to the camera for one frame."""
        self.decoder.showing = list(texts)
        self.turn(self.settings.frame_interval_s)
        self.decoder.showing = []

    # -- what happened ---------------------------------------------------------------------
    def events(self, *kinds: EventKind) -> list[StationEvent]:
        """Every event committed to the outbox so far, of these kinds (or all)."""
        return [e for e in self.store.appended if not kinds or e.kind in kinds]

    def kinds(self) -> list[EventKind]:
        return [event.kind for event in self.store.appended]

    @property
    def shown(self) -> list[Shown]:
        return list(self.display.history)

    @property
    def last_request_id(self) -> str:
        return self.transport.requests[-1].request_id
