"""The small interfaces between the agent and the world. firmware_sim implements the hardware ones.

Hardware callbacks (door contact, exit button) may run on any thread; the agent only queues them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from protocol.payloads import AccessRequest, Heartbeat, StationEvent
from protocol.reasons import DoorHint, Reason

Frame = npt.NDArray[np.uint8]
Clock = Callable[[], float]  # Unix time in seconds


class Camera(Protocol):
    def read(self) -> Frame | None:
        """The newest frame (grey or BGR), or None when the camera has none to give. A new
        frame is a new array: the same one again means nothing new was seen."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call back (on any thread) whenever a new frame is ready to read, so that the loop
        reads it at once instead of at its next poll. A camera that renders a frame on each
        ``read`` calls back when what it sees changes."""
        ...

    def close(self) -> None: ...


class QrDecoder(Protocol):
    def decode(self, frame: Frame) -> list[str]:
        """The text of every QR code found in the frame."""
        ...


class Lock(Protocol):
    def unlock(self) -> None: ...

    def lock(self) -> None: ...


class DoorSensor(Protocol):
    def subscribe(self, callback: Callable[[bool], None]) -> None:
        """Call back with True when the door opens and False when it closes."""
        ...


class ExitButton(Protocol):
    def subscribe(self, callback: Callable[[], None]) -> None: ...


class Display(Protocol):
    """The light and short message the rider sees at the door."""

    def show(self, *, allowed: bool, reason: Reason, hint: DoorHint | None = None) -> None:
        """``hint``: with a refusal, the rider's next step (``i18n.door_message``)."""
        ...


EventBuilder = Callable[[str, int], StationEvent]  # (epoch, seq) -> the numbered event


class Store(Protocol):
    """The agent's durable state: the replay cache and the outbox. Every write is committed
    before the call returns."""

    epoch: str

    @property
    def last_seq(self) -> int: ...

    def seen(self, nonce: bytes, now: float) -> bool: ...

    def record_grant(
        self, nonce: bytes, expires_at: float, now: float, build: EventBuilder
    ) -> StationEvent: ...

    def append_event(self, build: EventBuilder) -> StationEvent: ...

    def pending(self, *, after_seq: int = 0, limit: int = 100) -> list[tuple[int, bytes]]: ...

    def payloads(self, seqs: Iterable[int]) -> list[tuple[int, bytes]]: ...

    def acknowledge(self, seqs: Iterable[int]) -> int: ...

    def depth(self) -> int: ...

    def floor(self) -> int: ...

    def pinned_control_keys(self) -> dict[str, str] | None:
        """The control keys pinned by the last verified config, or None (then the settings')."""
        ...

    def pin_control_keys(self, keys: Mapping[str, str]) -> None: ...

    def trust_pages(self) -> dict[str, bytes]:
        """The trust pages kept by ``save_trust_page``: page name -> payload as received."""
        ...

    def save_trust_page(self, name: str, payload: bytes) -> None: ...

    def station_config(self) -> bytes | None:
        """The station's own config last applied (mode, lockdown), as received, or None."""
        ...

    def save_station_config(self, payload: bytes) -> None: ...

    def close(self) -> None: ...


class Transport(Protocol):
    """The agent's link to the server. Inbound messages arrive in the agent's inbox."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def is_connected(self) -> bool: ...

    def request_access(self, request: AccessRequest) -> None: ...

    def publish_event(self, payload: bytes) -> None:
        """An outbox row as stored (already serialised), QoS 1."""
        ...

    def publish_heartbeat(self, heartbeat: Heartbeat) -> None: ...

    def publish_state(self, *, online: bool) -> None:
        """The retained state message: online at every connect; offline as the last will, and
        as the goodbye of a clean stop."""
        ...


@dataclass(frozen=True, slots=True)
class Hardware:
    """The devices of one station, as the agent is given them."""

    camera: Camera
    decoder: QrDecoder
    lock: Lock
    door: DoorSensor
    exit_button: ExitButton
    display: Display


class Supervisor(Protocol):
    """Whoever watches over the agent (systemd): told when it runs, that its loop still
    turns, and when it stops."""

    def ready(self) -> None: ...

    def alive(self) -> None: ...

    def stopping(self) -> None: ...
