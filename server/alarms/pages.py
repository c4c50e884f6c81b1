"""The alarm console: one list across stations, filtered by kind, station and state, paged,
kept live by ``alarms.js`` (it reloads the list from ``/alarms/list`` when the alarm stream
says something changed); acknowledging and resolving go through the JSON API."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from server.alarms.models import AlarmState
from server.alarms.repo import AlarmFilter, alarm_kinds, count_alarms, list_alarms
from server.core.deps import SessionDep
from server.reports.aggregates import station_names
from server.staff.deps import PageStaff
from server.stations.repo import station_choices
from server.web.render import render_page

router = APIRouter(include_in_schema=False)

ALARMS_PER_PAGE = 50
STATION_PICKER_MAX = 500


class Shown(StrEnum):
    """The console's state filter: the three states, and the two groupings staff use."""

    UNRESOLVED = "unresolved"  # open or acknowledged: the default, still to be handled
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ALL = "all"


class ConsoleQuery:
    def __init__(
        self,
        kind: Annotated[str, Query(max_length=32, pattern=r"^[a-z_]*$")] = "",
        station: Annotated[str, Query(max_length=63)] = "",
        state: Shown = Shown.UNRESOLVED,
        page: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> None:
        self.kind, self.station, self.state, self.page = kind, station.strip(), state, page

    @property
    def filter(self) -> AlarmFilter:
        state = AlarmState(self.state.value) if self.state.value in set(AlarmState) else None
        return AlarmFilter(
            station_id=self.station or None,
            kind=self.kind or None,
            state=state,
            unresolved=self.state is Shown.UNRESOLVED,
        )

    def url(self, **changed: object) -> str:
        values: dict[str, object] = {
            "kind": self.kind,
            "station": self.station,
            "state": self.state.value,
            "page": self.page,
        }
        values |= changed
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


ConsoleQueryDep = Annotated[ConsoleQuery, Depends()]


def _listing(session: Session, query: ConsoleQuery) -> dict[str, Any]:
    which = query.filter
    alarms = list_alarms(
        session,
        which=which,
        open_first=query.state in (Shown.UNRESOLVED, Shown.ALL),
        limit=ALARMS_PER_PAGE,
        offset=query.page * ALARMS_PER_PAGE,
    )
    return {
        "alarms": alarms,
        "alarms_total": count_alarms(session, which=which),
        "names": station_names(session, [a.station_id for a in alarms]),
        "query": query,
        "per_page": ALARMS_PER_PAGE,
        "show_station": True,
    }


@router.get("/alarms", response_class=HTMLResponse)
def console(
    request: Request, session: SessionDep, staff: PageStaff, query: ConsoleQueryDep
) -> HTMLResponse:
    choices = station_choices(session, limit=STATION_PICKER_MAX + 1)
    return render_page(
        request,
        "alarms.html",
        staff,
        {
            "nav": "alarms",
            "kinds": sorted({*alarm_kinds(session), *([query.kind] if query.kind else [])}),
            "states": list(Shown),
            # A list to pick from while it is short; past that, the station's id is typed.
            "choices": choices if len(choices) <= STATION_PICKER_MAX else None,
            **_listing(session, query),
        },
    )


@router.get("/alarms/list", response_class=HTMLResponse)
def console_list(
    request: Request, session: SessionDep, staff: PageStaff, query: ConsoleQueryDep
) -> HTMLResponse:
    """The list alone, for the page's script to put in place when the alarms change."""
    return render_page(request, "alarm_list.html", staff, _listing(session, query))
