"""Keeps Home Assistant's view of the stations current: run by the scheduler's lease holder
every tick (once across workers), it reads every station's row and publishes, retained, only
what changed since it last published (after a broker reconnect: everything again, the broker
may have lost its retained store). A new lease holder starts by publishing everything."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from server.core.db import session_scope
from server.homeassistant.discovery import Published, StationView, changes
from server.stations.models import Station

Publish = Callable[[str, bytes], None]
_COLUMNS = (
    Station.id, Station.name, Station.online, Station.door_phase, Station.occupancy,
    Station.capacity,
)  # fmt: skip


def read_views(session: Session) -> list[StationView]:
    """Every station as Home Assistant sees it: plain columns, not ORM objects (building 10,000
    Station objects a second cost about a quarter of the scheduler's tick: bench/
    homeassistant_sync.py)."""
    statement = sa_select(*(col(c) for c in _COLUMNS)).order_by(col(Station.id))
    return [StationView(*row) for row in session.execute(statement)]


class HomeAssistantBridge:
    def __init__(self, engine: Engine, publish: Publish, reconnects: Callable[[], int]) -> None:
        self._engine = engine
        self._publish = publish
        self._reconnects = reconnects
        self._reconnects_seen = -1
        self._published: dict[str, Published] = {}

    def sync(self) -> int:
        """Publish what changed; how many messages that took."""
        if self._reconnects() != self._reconnects_seen:
            self._reconnects_seen = self._reconnects()
            self._published = {}
        with session_scope(self._engine) as session:
            views = read_views(session)
        messages, published = changes(views, self._published)
        for topic, payload in messages:
            self._publish(topic, payload)
        self._published = published
        return len(messages)
