"""Stays: which rider is inside which station, as far as the server can tell. A stay opens on
an entry with a rider and ends when the rider enters elsewhere or the count reaches zero
(``server.events.fold`` decides, ``server.events.effects`` writes); staff and the quiet hour
end every stay of a station at once here."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from server.events.models import Stay


def end_stays(session: Session, *, station_id: str, at: datetime) -> None:
    for stay in session.exec(
        select(Stay).where(Stay.station_id == station_id, col(Stay.ended_at).is_(None))
    ):
        stay.ended_at = at
        session.add(stay)
