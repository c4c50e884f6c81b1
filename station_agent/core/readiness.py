"""Is this station ready to let riders in? A verdict from plain facts, the agent's answer to
the server's ``/readyz``. Pure: the caller measures, this judges.

Not ready is not "broken": a station without its broker still decides offline. The reasons
tell the operator which part to look at; the heartbeat carries them to the dashboard and
``station_agent check`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class NotReady(StrEnum):
    STORE_ERROR = "store_error"  # the outbox and replay cache cannot be read or written
    BROKER_DOWN = "broker_down"  # no link to the server: offline decisions only
    CAMERA_STALLED = "camera_stalled"  # the scan loop has had no frame for too long
    CAMERA_BLIND = "camera_blind"  # frames come, but show no picture (covered, blank)
    OUTBOX_BACKLOG = "outbox_backlog"  # events wait too long, or too many, to reach the server


@dataclass(frozen=True, slots=True)
class ReadinessLimits:
    stalled_frames: float = 20.0  # this many camera intervals without a frame is a stall
    min_stall_s: float = 2.0  # ... but never less than this (a hiccup is not a stall)
    backlog_age_s: float = 120.0  # the oldest unsent event older than this
    backlog_depth: int = 1000  # or more events than this waiting


@dataclass(frozen=True, slots=True)
class ReadinessFacts:
    store_ok: bool
    broker_connected: bool
    frame_age_s: float | None  # since the last frame read; None: the scan loop is not watched
    frame_interval_s: float  # how often the camera is expected to give one
    camera_ok: bool  # the last frame showed a picture
    outbox_depth: int
    oldest_unsent_age_s: float | None  # None: nothing waiting


@dataclass(frozen=True, slots=True)
class Readiness:
    reasons: tuple[NotReady, ...]

    @property
    def ready(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> list[str]:
        return [reason.value for reason in self.reasons]


def judge(facts: ReadinessFacts, limits: ReadinessLimits = ReadinessLimits()) -> Readiness:
    """Every reason that holds, in a fixed order (so the row does not flap between orders)."""
    reasons: list[NotReady] = []
    if not facts.store_ok:
        reasons.append(NotReady.STORE_ERROR)
    if not facts.broker_connected:
        reasons.append(NotReady.BROKER_DOWN)
    if facts.frame_age_s is not None:
        stall_s = max(limits.min_stall_s, limits.stalled_frames * facts.frame_interval_s)
        if facts.frame_age_s > stall_s:
            reasons.append(NotReady.CAMERA_STALLED)
        elif not facts.camera_ok:
            reasons.append(NotReady.CAMERA_BLIND)
    old = facts.oldest_unsent_age_s is not None and facts.oldest_unsent_age_s > limits.backlog_age_s
    if old or facts.outbox_depth > limits.backlog_depth:
        reasons.append(NotReady.OUTBOX_BACKLOG)
    return Readiness(tuple(reasons))
