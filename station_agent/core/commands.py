"""Whether the station acts on a remote command from the server. Pure; time passed in.

Commands come from staff through the server: a remote unlock, a lockdown and its release, a
change of mode. The station acts only on one addressed to it, not retained (a retained command
would act again on every reconnect), still valid, not too far in the future, carrying who and
why for the audit trail, and never twice (each command id acts at most once).

How the agent calls it: for every message on its ``commands`` topic, convert the payload to a
``Command`` at the MQTT edge, then
``check = accept_command(command, station_id=own_id, retained=msg.retain, now=clock(),
seen=self.seen_commands)`` and keep ``check.seen`` for the next call (accepted or not). Act only
when ``check.accepted``: a remote unlock is ``door.release(passage=Passage.ENTRY)``, a lockdown
``door.relock`` plus refusing entries until the release, a mode is what the display and the
offline rules use. Report every command, accepted or refused with ``check.refusal``, as an
event, so the server's audit shows what each station did with it.

Seen ids are kept only until their command expires: an expired command is refused anyway, so
the memory stays as small as the number of commands still valid. This relies on the station's
clock not going back by more than a command's lifetime (the offline rules already refuse to
work with an untrusted clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from protocol.payloads import CommandKind, StationMode

# A command's expiry this far ahead of the station's clock is refused: commands live seconds,
# so more means a wrong clock or a forged expiry that would keep a replay valid for long.
DEFAULT_MAX_AHEAD_S = 120.0


@dataclass(frozen=True, slots=True)
class Command:
    command_id: str
    station_id: str
    kind: CommandKind
    issued_at: float  # server time, Unix seconds
    expires_at: float
    issued_by: str  # staff account, for the audit trail
    reason: str  # why, in staff's words
    mode: StationMode | None = None  # only for SET_MODE


class CommandRefusal(StrEnum):
    RETAINED = "retained"
    WRONG_STATION = "wrong_station"
    INCOMPLETE = "incomplete"  # no who or why, or a mode missing or out of place
    EXPIRED = "expired"
    TOO_FAR_AHEAD = "too_far_ahead"
    REPEATED = "repeated"


@dataclass(frozen=True, slots=True)
class CommandCheck:
    refusal: CommandRefusal | None  # None: act on the command
    seen: Mapping[str, float]  # command id -> expiry; pass it to the next call

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def accept_command(
    command: Command,
    *,
    station_id: str,
    retained: bool,
    now: float,
    seen: Mapping[str, float],
    max_ahead_s: float = DEFAULT_MAX_AHEAD_S,
) -> CommandCheck:
    """Accept or refuse one command. Refusal is a value; nothing raises. The first failing
    check names the reason, cheapest and least trusting first."""
    live = {command_id: until for command_id, until in seen.items() if until >= now}
    refusal = _refusal(command, station_id, retained, now, live, max_ahead_s)
    if refusal is None:
        live[command.command_id] = command.expires_at
    return CommandCheck(refusal, live)


def _refusal(
    command: Command,
    station_id: str,
    retained: bool,
    now: float,
    seen: Mapping[str, float],
    max_ahead_s: float,
) -> CommandRefusal | None:
    if retained:
        return CommandRefusal.RETAINED
    if command.station_id != station_id:
        return CommandRefusal.WRONG_STATION
    if not _complete(command):
        return CommandRefusal.INCOMPLETE
    if command.expires_at < now:
        return CommandRefusal.EXPIRED
    if command.expires_at > now + max_ahead_s:
        return CommandRefusal.TOO_FAR_AHEAD
    if command.command_id in seen:
        return CommandRefusal.REPEATED
    return None


def _complete(command: Command) -> bool:
    if not (command.command_id and command.issued_by.strip() and command.reason.strip()):
        return False
    return (command.mode is not None) == (command.kind is CommandKind.SET_MODE)
