"""A station's page: its count over 24 hours and 7 days, alarms and usage log (both live), the
controls (remote unlock, lockdown, mode, count, capacity, opening hours; each with a reason,
each audited) and the audit trail in words. The log, the alarms and the audit trail are also
rendered alone, for the page's scripts to reload when the alarm stream says they changed."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlmodel import Session

from protocol.payloads import StationMode
from server.access.policy import Emergency
from server.alarms.pages import ALARMS_PER_PAGE, ConsoleQuery, Shown
from server.alarms.repo import AlarmFilter, count_alarms, list_alarms
from server.audit.pages import audit_rows
from server.audit.repo import list_audit
from server.core.deps import SessionDep
from server.core.localtime import as_local, utcnow
from server.events.repo import list_events
from server.reports import figures
from server.reports.models import OccupancyHistory
from server.reports.overview import overview_rows
from server.reports.views import occupancy_history
from server.staff.deps import PageStaff
from server.staff.models import Role
from server.staff.repo import Authenticated
from server.stations.hours_text import describe_hours
from server.stations.models import Amenity, Station
from server.stations.repo import get_station, station_details
from server.stations.routes import COMMAND_TTL
from server.stations.rules import mode_of
from server.web.charts import LegendItem, step_chart
from server.web.language import Texts, language_of
from server.web.render import render_page

router = APIRouter(include_in_schema=False)

EVENTS_PER_PAGE = 25
AUDIT_ON_PAGE = 30
PageNumber = Annotated[int, Query(ge=0, le=100_000)]


def _history_chart(history: OccupancyHistory, t: Texts, title: str, daily: bool) -> Markup:
    labels, tips = [], []
    for point in history.points:
        local = as_local(point.start)
        if daily:
            labels.append(local.strftime("%m-%d") if local.hour == 0 else "")
        else:
            labels.append(local.strftime("%H:%M") if local.minute == 0 else "")
        when = local.strftime("%m-%d %H:%M")
        tips.append(t("chart_occupancy_tip", time=when, n=point.occupancy, peak=point.peak))
    svg = step_chart(
        title=title,
        y_title=t("chart_people_axis"),
        values=[p.occupancy for p in history.points],
        peaks=[p.peak for p in history.points],
        labels=labels,
        tips=tips,
        capacity=history.capacity,
        legend=[
            LegendItem(t("legend_inside"), "area"),
            LegendItem(t("legend_peak"), "peak"),
            LegendItem(t("legend_capacity", n=history.capacity), "cap"),
        ],
    )
    return Markup(svg)  # noqa: S704 (built by charts.py, every text escaped)


def _not_found(request: Request, staff: Authenticated, station_id: str) -> HTMLResponse:
    return render_page(
        request, "not_found.html", staff, {"what": station_id, "nav": ""}, status_code=404
    )


def _log(session: Session, station_id: str, page: int) -> dict[str, Any]:
    events, total = list_events(
        session, station_id=station_id, limit=EVENTS_PER_PAGE, offset=page * EVENTS_PER_PAGE
    )
    return {"events": events, "events_total": total, "page": page, "per_page": EVENTS_PER_PAGE}


def _alarms(session: Session, station: Station) -> dict[str, Any]:
    which = AlarmFilter(station_id=station.id)
    return {
        "alarms": list_alarms(session, which=which, limit=ALARMS_PER_PAGE),
        "alarms_total": count_alarms(session, which=which),
        "names": {station.id: station.name},
        "query": ConsoleQuery(station=station.id, state=Shown.ALL),
    }


def _audit(session: Session, station_id: str, language: str) -> dict[str, Any]:
    entries = list_audit(session, station_id=station_id, limit=AUDIT_ON_PAGE)
    return {"audit_rows": audit_rows(entries, language)}


def _mode_words(station: Station, t: Texts) -> str:
    if station.lockdown:
        return t("lockdown")
    mode = mode_of(station)
    words = t.code(f"mode_{mode.value}")
    if station.emergency and mode is StationMode.FREE_ENTRY:
        words += t("in_brackets", what=t.code(f"emergency_{station.emergency}"))
    return words


@router.get("/stations/{station_id}", response_class=HTMLResponse)
def station_page(
    request: Request, station_id: str, session: SessionDep, staff: PageStaff, page: PageNumber = 0
) -> HTMLResponse:
    station = get_station(session, station_id=station_id)
    if station is None:
        return _not_found(request, staff, station_id)
    language = language_of(request)
    t = Texts(language)
    now = utcnow()
    day = occupancy_history(session, station, figures.Range.DAY, now)
    week = occupancy_history(session, station, figures.Range.WEEK, now)
    [row] = overview_rows(session, station_ids=[station_id])
    hours = json.loads(station.opening_hours) if station.opening_hours else None
    mode = mode_of(station)
    return render_page(
        request,
        "station.html",
        staff,
        {
            "nav": "",
            "station": station,
            "row": row,
            "chart_day": _history_chart(day, t, t("chart_24h"), daily=False),
            "chart_week": _history_chart(week, t, t("chart_7d"), daily=True),
            "is_admin": staff.user.role.rank >= Role.ADMIN.rank,
            "mode": "lockdown" if station.lockdown else mode.value,
            "mode_value": mode.value,
            "mode_words": _mode_words(station, t),
            "modes": [m.value for m in StationMode],
            "emergencies": [e.value for e in Emergency],
            "hours_raw": hours,
            "hours_text": describe_hours(hours, lambda key: t(key.removeprefix("page."))),
            "command_ttl_s": int(COMMAND_TTL.total_seconds()),
            **_log(session, station_id, page),
            **_alarms(session, station),
            **_audit(session, station_id, language),
            "details": station_details(session, station),
            "amenity_choices": list(Amenity),
        },
    )


@router.get("/stations/{station_id}/log", response_class=HTMLResponse)
def station_log(
    request: Request, station_id: str, session: SessionDep, staff: PageStaff, page: PageNumber = 0
) -> HTMLResponse:
    """The usage log alone (its newest page, by default)."""
    if get_station(session, station_id=station_id) is None:
        return _not_found(request, staff, station_id)
    return render_page(request, "usage_log.html", staff, _log(session, station_id, page))


@router.get("/stations/{station_id}/audit", response_class=HTMLResponse)
def station_audit(
    request: Request, station_id: str, session: SessionDep, staff: PageStaff
) -> HTMLResponse:
    """The station's audit trail alone, in words."""
    if get_station(session, station_id=station_id) is None:
        return _not_found(request, staff, station_id)
    context = _audit(session, station_id, language_of(request))
    return render_page(request, "audit_table.html", staff, context)
