"""Stations as staff list them: one page at a time, filtered, sorted and counted in SQL, so a
list costs the same at 10 stations and at 186,100. Shared by ``GET /api/stations``, the
overview page and the live stream."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, and_, case, false, or_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from server.alarms.models import Alarm
from server.reports.models import StationCounts
from server.reports.station_state import Problem
from server.stations.models import Station


class StationState(StrEnum):
    ALL = "all"
    ONLINE = "online"
    OFFLINE = "offline"
    ALARMS = "alarms"  # with an alarm nobody acknowledged yet
    FULL = "full"
    NEARLY_FULL = "nearly_full"  # at or past the soft limit, not yet full
    LOCKDOWN = "lockdown"
    MAINTENANCE = "maintenance"
    CLOSED_BY_HOURS = "closed_by_hours"  # its opening hours refuse riders now


class StationOrder(StrEnum):
    ID = "id"
    NAME = "name"
    PROBLEMS = "problems"  # server.reports.station_state.problem_key, in SQL


@dataclass(frozen=True, slots=True)
class StationQuery:
    state: StationState = StationState.ALL
    text: str = ""  # part of the name or id, any case
    order: StationOrder = StationOrder.ID


def open_alarms() -> Any:
    """Unacknowledged alarms per station: a small grouped subquery joined to the stations
    (alarms are few next to stations; a correlated count per row would run once per row)."""
    return (
        select(Alarm.station_id, func.count().label("n"))
        .where(col(Alarm.acknowledged_at).is_(None))
        .group_by(Alarm.station_id)
        .subquery("open_alarms")
    )


def _alarm_count(alarms: Any) -> ColumnElement[int]:
    return func.coalesce(alarms.c.n, 0)


def _is_full() -> ColumnElement[bool]:
    return col(Station.occupancy) >= col(Station.capacity)


def _is_nearly_full() -> ColumnElement[bool]:
    return and_(
        col(Station.occupancy) >= col(Station.soft_limit) * col(Station.capacity),
        col(Station.occupancy) < col(Station.capacity),
    )


def _state_filter(state: StationState, alarms: Any) -> ColumnElement[bool] | None:
    match state:
        case StationState.ALL:
            return None
        case StationState.ONLINE:
            return col(Station.online).is_(True)
        case StationState.OFFLINE:
            return col(Station.online).is_(False)
        case StationState.ALARMS:
            return _alarm_count(alarms) > 0
        case StationState.FULL:
            return _is_full()
        case StationState.NEARLY_FULL:
            return _is_nearly_full()
        case StationState.LOCKDOWN:
            return col(Station.lockdown).is_(True)
        case StationState.MAINTENANCE:
            return col(Station.maintenance).is_(True)
        case StationState.CLOSED_BY_HOURS:
            return col(Station.closed_by_hours).is_(True)
    return false()  # pragma: no cover - every state is matched above


def _text_filter(text: str) -> ColumnElement[bool] | None:
    needle = text.strip().lower()
    if not needle:
        return None
    # The user's % and _ are letters here, not wildcards.
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        func.lower(Station.id).like(pattern, escape="\\"),
        func.lower(Station.name).like(pattern, escape="\\"),
    )


def _ordering(order: StationOrder, alarms: Any) -> list[ColumnElement[Any]]:
    if order is StationOrder.NAME:
        return [col(Station.name).asc(), col(Station.id).asc()]
    if order is StationOrder.PROBLEMS:
        return [problem_rank(alarms).asc(), _alarm_count(alarms).desc(), col(Station.id).asc()]
    return [col(Station.id).asc()]


def problem_rank(alarms: Any) -> ColumnElement[int]:
    """``station_state.problem`` in SQL (tests/integration/test_overview_order.py keeps them
    the same): evaluated by the database for every station, so the first page is the most
    urgent one whatever the number of stations."""
    return case(
        (_alarm_count(alarms) > 0, int(Problem.ALARM)),
        (col(Station.online).is_(False), int(Problem.OFFLINE)),
        (_is_full(), int(Problem.FULL)),
        (
            or_(col(Station.lockdown).is_(True), col(Station.maintenance).is_(True)),
            int(Problem.CLOSED_BY_STAFF),
        ),
        (_is_nearly_full(), int(Problem.NEARLY_FULL)),
        else_=int(Problem.NONE),
    )


def _conditions(query: StationQuery, alarms: Any) -> list[ColumnElement[bool]]:
    found = (_state_filter(query.state, alarms), _text_filter(query.text))
    return [condition for condition in found if condition is not None]


def station_page(
    session: Session, *, query: StationQuery, limit: int, offset: int
) -> tuple[list[tuple[Station, int]], int]:
    """One page of stations with their unacknowledged alarm counts, and how many match."""
    alarms = open_alarms()
    joined = alarms.c.station_id == Station.id
    where = _conditions(query, alarms)
    counting = select(func.count()).select_from(Station)
    if query.state is StationState.ALARMS:  # the only filter that needs the alarms
        counting = counting.outerjoin(alarms, joined)
    total = session.exec(counting.where(*where)).one()
    statement = (
        select(Station, _alarm_count(alarms))
        .outerjoin(alarms, joined)
        .where(*where)
        .order_by(*_ordering(query.order, alarms))
        .offset(offset)
        .limit(limit)
    )
    rows = [(station, int(count)) for station, count in session.exec(statement)]
    return rows, int(total)


def stations_by_id(session: Session, *, station_ids: Sequence[str]) -> list[tuple[Station, int]]:
    """The given stations with their unacknowledged alarm counts (unknown ids are skipped)."""
    if not station_ids:
        return []
    alarms = open_alarms()
    statement = (
        select(Station, _alarm_count(alarms))
        .outerjoin(alarms, alarms.c.station_id == Station.id)
        .where(col(Station.id).in_(list(station_ids)))
        .order_by(col(Station.id))
    )
    return [(station, int(count)) for station, count in session.exec(statement)]


def station_counts(session: Session) -> StationCounts:
    """Every count the dashboard shows of the stations, in one aggregate query."""
    alarms = open_alarms()

    def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count().filter(condition)

    statement = sql_select(
        func.count(),
        count_where(col(Station.online).is_(True)),
        count_where(_alarm_count(alarms) > 0),
        func.coalesce(func.sum(alarms.c.n), 0),
        count_where(_is_full()),
        count_where(_is_nearly_full()),
        count_where(col(Station.lockdown).is_(True)),
        count_where(col(Station.maintenance).is_(True)),
        func.coalesce(func.sum(Station.occupancy), 0),
        count_where(col(Station.closed_by_hours).is_(True)),
    ).select_from(Station)
    statement = statement.outerjoin(alarms, alarms.c.station_id == Station.id)
    row = session.connection().execute(statement).one()
    (
        stations,
        online,
        with_alarms,
        alarms_open,
        full,
        nearly,
        lockdown,
        maintenance,
        people,
        closed,
    ) = (int(value) for value in row)
    return StationCounts(
        stations=stations,
        stations_online=online,
        stations_offline=stations - online,
        stations_with_alarms=with_alarms,
        alarms_open=alarms_open,
        stations_full=full,
        stations_nearly_full=nearly,
        stations_lockdown=lockdown,
        stations_maintenance=maintenance,
        occupancy=people,
        stations_closed_by_hours=closed,
    )


def station_query_ordered(default: StationOrder) -> Callable[..., StationQuery]:
    """The query parameters of a station list whose order defaults to ``default``."""

    def station_query(
        state: Annotated[StationState, Query(description="which stations")] = StationState.ALL,
        q: Annotated[str, Query(max_length=80, description="part of the name or id")] = "",
        sort: Annotated[StationOrder, Query(description="id, name, or problems first")] = default,
    ) -> StationQuery:
        return StationQuery(state=state, text=q, order=sort)

    return station_query


StationQueryDep = Annotated[StationQuery, Depends(station_query_ordered(StationOrder.ID))]
# The overview puts problems first unless asked otherwise.
OverviewQueryDep = Annotated[StationQuery, Depends(station_query_ordered(StationOrder.PROBLEMS))]
