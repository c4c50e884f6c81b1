"""A station's page: its count over 24 hours and 7 days, the usage log, alarms, remote unlock
and the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from server.alarms.repo import list_alarms
from server.audit.repo import list_audit
from server.core.deps import SessionDep
from server.core.localtime import as_local, utcnow
from server.events.repo import list_events
from server.reports import figures
from server.reports.models import OccupancyHistory
from server.reports.overview import overview_rows
from server.reports.views import occupancy_history
from server.staff.deps import PageStaff
from server.stations.models import Amenity
from server.stations.repo import get_station, station_details
from server.web.charts import LegendItem, step_chart
from server.web.language import Texts, language_of
from server.web.render import render_page

router = APIRouter(include_in_schema=False)

EVENTS_PER_PAGE = 25


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


@router.get("/stations/{station_id}", response_class=HTMLResponse)
def station_page(
    request: Request,
    station_id: str,
    session: SessionDep,
    staff: PageStaff,
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    station = get_station(session, station_id=station_id)
    t = Texts(language_of(request))
    if station is None:
        return render_page(
            request, "not_found.html", staff, {"what": station_id, "nav": ""}, status_code=404
        )
    now = utcnow()
    day = occupancy_history(session, station, figures.Range.DAY, now)
    week = occupancy_history(session, station, figures.Range.WEEK, now)
    events, total = list_events(
        session, station_id=station_id, limit=EVENTS_PER_PAGE, offset=page * EVENTS_PER_PAGE
    )
    [row] = overview_rows(session, station_ids=[station_id])
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
            "events": events,
            "events_total": total,
            "page": page,
            "per_page": EVENTS_PER_PAGE,
            "alarms": list_alarms(session, station_id=station_id, limit=20),
            "audit": list_audit(session, station_id=station_id, limit=30),
            "details": station_details(session, station),
            "amenity_choices": list(Amenity),
        },
    )
