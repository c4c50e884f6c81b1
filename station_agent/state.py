"""What the station knows right now, shared by the flows of the agent.

The loop owns one ``AgentState``; the flows it dispatches to read it and change it, all on the
loop's thread. Each flow keeps its own bookkeeping (pending requests, events in flight, commands
seen) to itself; only what several of them need lives here. (The retained online/offline
``state`` message on MQTT is another thing: the transport builds it.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.payloads import StationMode, TrustKeys
from protocol.reasons import Reason
from station_agent.core.denylist import Denylist
from station_agent.core.scan import StationView


@dataclass(slots=True)
class AgentState:
    view: StationView | None = None  # keys, audience, denylist: from the trust pages applied
    trust_keys: TrustKeys | None = None  # the newest keys page applied
    denylist: Denylist = field(default_factory=Denylist)  # from the denylist pages applied
    config_version: int = 0  # of the station's own config (mode, lockdown) last applied
    # Config and trust pages dropped (page -> why), until a good one of the same page comes.
    config_errors: dict[str, str] = field(default_factory=dict)
    mode: StationMode = StationMode.NORMAL
    lockdown: bool = False
    connected: bool = False  # the link to the broker, as the transport last reported it
    clock_offset_s: float | None = None  # server minus station, measured from decisions

    @property
    def config_error(self) -> str | None:
        """For the heartbeat: one page dropped and not yet replaced, as ``page: why``."""
        if not self.config_errors:
            return None
        page = min(self.config_errors)
        return f"{page}: {self.config_errors[page]}"[:120]

    @property
    def configured(self) -> bool:
        """Keys known and every denylist bucket received: ready for online and offline entry."""
        return self.view is not None and self.denylist.complete

    def standing_refusal(self) -> Reason | None:
        """Why the station is closed to everyone now (no need to ask the server), or None."""
        if self.lockdown:
            return Reason.LOCKDOWN
        if self.mode is StationMode.MAINTENANCE:
            return Reason.MAINTENANCE
        return None
