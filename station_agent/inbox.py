"""What other threads hand to the agent's loop: one value per message or hardware report.

The MQTT adapter and the hardware callbacks only put these into the inbox; the loop's thread
takes them out and acts on them, so no state is shared between threads and nothing is decided
inside a network callback. The adapter has converted every payload to a ``protocol`` model
before it gets here.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass

from protocol.payloads import AccessDecision, EventsAck, StationCommand, StationConfig, TrustPage


@dataclass(frozen=True, slots=True)
class DecisionArrived:
    decision: AccessDecision


@dataclass(frozen=True, slots=True)
class ConfigArrived:
    config: StationConfig


@dataclass(frozen=True, slots=True)
class TrustArrived:
    """A trust page (keys or a denylist bucket), its signature verified."""

    page: TrustPage


@dataclass(frozen=True, slots=True)
class ConfigDropped:
    """A config or trust page from the server that was dropped: not signed by a pinned key,
    or not valid. ``page``: ``config``, ``keys`` or ``denylist/<bucket>``."""

    page: str
    why: str


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


@dataclass(frozen=True, slots=True)
class FrameReady:
    """The camera has a new frame: read it now (several of these in a row mean one read)."""


FRAME_READY = FrameReady()


AgentInput = (
    DecisionArrived
    | ConfigArrived
    | TrustArrived
    | ConfigDropped
    | AckArrived
    | LinkChanged
    | CommandArrived
    | DoorChanged
    | ExitPressed
    | FrameReady
)

Inbox = queue.SimpleQueue[AgentInput]
