"""Stays: which rider is inside which station, as far as the server can tell. A stay opens on
an entry with a rider and ends when the rider enters elsewhere or the count reaches zero."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from server.core.localtime import as_utc
from server.events.models import Stay


def open_stay(session: Session, *, station_id: str, rider_id: str, at: datetime) -> None:
    """A rider entering anywhere has left wherever they were before."""
    for stay in session.exec(
        select(Stay).where(Stay.rider_id == rider_id, col(Stay.ended_at).is_(None))
    ):
        stay.ended_at = at
        session.add(stay)
    session.add(Stay(station_id=station_id, rider_id=rider_id, entered_at=at))


def end_stays(session: Session, *, station_id: str, at: datetime) -> None:
    for stay in session.exec(
        select(Stay).where(Stay.station_id == station_id, col(Stay.ended_at).is_(None))
    ):
        stay.ended_at = at
        session.add(stay)


def inside_since(session: Session, *, rider_id: str, station_id: str) -> float | None:
    stay = session.exec(
        select(Stay).where(
            Stay.rider_id == rider_id, Stay.station_id == station_id, col(Stay.ended_at).is_(None)
        )
    ).first()
    return as_utc(stay.entered_at).timestamp() if stay else None


def open_stays(session: Session, *, station_id: str) -> list[Stay]:
    return list(
        session.exec(
            select(Stay).where(Stay.station_id == station_id, col(Stay.ended_at).is_(None))
        )
    )
