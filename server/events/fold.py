"""How stored events move their streams and change their stations, as plain data. No I/O.

``advance`` moves one outbox stream's contiguous mark over the events stored beyond it and
says which events to apply (each once, in sequence order) and which seqs are still missing.
``fold`` runs the applied events of a whole batch, in order, over the stations' state and
the open stays, and returns what to write: the count and door phase of each station, stays
opened and ended, alarms raised and cleared, command outcomes for the audit trail. The
database side (``server.events.store``, ``server.events.effects``) reads the inputs in a few
queries and writes the result in a few statements, whatever the number of events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from protocol.payloads import EventKind, Passage
from server.events import occupancy

MAX_MISSING_RANGES = 64
_PHASE_OF_ALARM = {"forced_open": "forced_open", "held_open": "held_open"}


@dataclass(frozen=True, slots=True)
class Pending:
    """A stored event beyond its stream's contiguous mark (times aware, UTC)."""

    event_id: str
    station_id: str
    seq: int
    kind: str
    occurred_at: datetime
    applied: bool = False
    passage: str | None = None
    rider_id: str | None = None
    alarm: str | None = None
    detail: str | None = None
    command_id: str | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    contiguous_through: int
    highest_seen: int


@dataclass(frozen=True, slots=True)
class Advanced:
    mark: Mark
    to_apply: tuple[Pending, ...]  # in sequence order
    missing: list[tuple[int, int]]


def advance(
    mark: Mark, stored: Sequence[Pending], *, acked: Iterable[int] = (), floor: int | None = None
) -> Advanced:
    """``stored``: the stream's events beyond its mark, in seq order. ``floor``: the station
    says everything below it was acknowledged (by this server before a restore, say), so the
    mark may move up to it over a gap that will never be filled."""
    contiguous, highest = mark.contiguous_through, max([mark.highest_seen, *acked])
    to_apply: list[Pending] = []
    if floor is not None and floor - 1 > contiguous:
        to_apply += [p for p in stored if p.seq < floor and not p.applied]
        contiguous = floor - 1
        highest = max(highest, floor - 1)
    missing: list[tuple[int, int]] = []
    expected = contiguous + 1
    for pending in stored:
        if pending.seq < expected:
            continue
        if pending.seq > expected and len(missing) < MAX_MISSING_RANGES:
            missing.append((expected, pending.seq - 1))
        if not missing and pending.seq == expected:
            contiguous = pending.seq
            if not pending.applied:
                to_apply.append(pending)
        expected = pending.seq + 1
    return Advanced(Mark(contiguous, highest), tuple(to_apply), missing)


@dataclass
class StationState:
    occupancy: int
    door_phase: str


@dataclass(frozen=True, slots=True)
class OpenStay:
    """A stay with no end yet; ``stay_id`` None for one opened by this batch."""

    stay_id: int | None
    station_id: str
    rider_id: str
    entered_at: datetime


@dataclass(frozen=True, slots=True)
class AlarmChange:
    raised: bool  # raised, or cleared (every active alarm of that kind at the station)
    station_id: str
    kind: str
    at: datetime
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    station_id: str
    action: str  # command_done or command_refused
    at: datetime
    detail: str


@dataclass
class Effects:
    """What a batch of applied events writes."""

    stations: dict[str, StationState] = field(default_factory=dict)  # the changed ones
    applied: list[str] = field(default_factory=list)  # event ids
    stays_ended: dict[int, datetime] = field(default_factory=dict)  # stored stay id -> end
    stays_new: list[tuple[OpenStay, datetime | None]] = field(default_factory=list)  # + end
    alarms: list[AlarmChange] = field(default_factory=list)  # in event order
    commands: list[CommandOutcome] = field(default_factory=list)


def fold(
    stations: dict[str, StationState], open_stays: Iterable[OpenStay], events: Iterable[Pending]
) -> Effects:
    """Apply ``events`` in the order given (each stream's in seq order) to copies of the
    stations' state (``stations`` must hold every station named) and of the open stays."""
    effects = Effects()
    state = {sid: StationState(s.occupancy, s.door_phase) for sid, s in stations.items()}
    open_now: list[OpenStay] = list(open_stays)
    new_ends: dict[int, datetime] = {}  # index in stays_new -> end

    def end(keep: bool, stay: OpenStay, at: datetime) -> bool:
        if keep:
            return True
        if stay.stay_id is not None:
            effects.stays_ended[stay.stay_id] = at
        else:
            new_ends[_index_of(effects.stays_new, stay)] = at
        return False

    for event in events:
        station = state[event.station_id]
        at = event.occurred_at
        kind = EventKind(event.kind)
        passage = Passage(event.passage) if event.passage else None
        station.occupancy = occupancy.apply(station.occupancy, kind, passage)
        effects.applied.append(event.event_id)
        if kind is EventKind.DOOR_OPENED:
            station.door_phase = "open"
            if passage is Passage.ENTRY and event.rider_id is not None:
                # A rider entering anywhere has left wherever they were before.
                rider = event.rider_id
                open_now = [s for s in open_now if end(s.rider_id != rider, s, at)]
                stay = OpenStay(None, event.station_id, rider, at)
                effects.stays_new.append((stay, None))
                open_now.append(stay)
        elif kind is EventKind.DOOR_CLOSED:
            station.door_phase = "closed"
        elif kind is EventKind.ALARM_RAISED and event.alarm:
            effects.alarms.append(
                AlarmChange(True, event.station_id, event.alarm, at, event.detail or "")
            )
            station.door_phase = _PHASE_OF_ALARM.get(event.alarm, station.door_phase)
        elif kind is EventKind.ALARM_CLEARED and event.alarm:
            effects.alarms.append(AlarmChange(False, event.station_id, event.alarm, at))
        elif kind in (EventKind.COMMAND_DONE, EventKind.COMMAND_REFUSED):
            detail = f"command {event.command_id}: {event.detail or ''}".strip()
            effects.commands.append(CommandOutcome(event.station_id, kind.value, at, detail))
        if station.occupancy == 0:  # nobody inside: every stay there is over
            sid = event.station_id
            open_now = [s for s in open_now if end(s.station_id != sid, s, at)]
        effects.stations[event.station_id] = station
    effects.stays_new = [(stay, new_ends.get(i)) for i, (stay, _) in enumerate(effects.stays_new)]
    return effects


def _index_of(stays: list[tuple[OpenStay, datetime | None]], stay: OpenStay) -> int:
    for index in range(len(stays) - 1, -1, -1):
        if stays[index][0] is stay:
            return index
    raise ValueError("not a stay of this batch")
