"""The overview (every station, live) and the reports page (visits per day and week, peak
hours, with charts and CSV links)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from server.core.deps import ServicesDep, SessionDep
from server.core.localtime import local_date, utcnow
from server.reports import figures
from server.reports.aggregates import station_names
from server.reports.listing import (
    OverviewQueryDep,
    StationOrder,
    StationState,
    station_counts,
)
from server.reports.overview import overview_page
from server.reports.station_state import UNSEEN, Badge, age
from server.reports.views import (
    ReportRangeError,
    peak_hours_report,
    report_days,
    visits_report,
)
from server.staff.deps import PageStaff
from server.stations.repo import get_station, station_choices
from server.web.charts import bar_chart
from server.web.language import Texts, language_of
from server.web.render import render_page

router = APIRouter(include_in_schema=False)


REPORT_PICKER_MAX = 500
OVERVIEW_PAGE = 200  # rows a page draws and its live stream follows (MAX_STREAM_STATIONS)
PageNumber = Annotated[int, Query(ge=0, le=10_000)]


# What the map module (static/station_map.js) says, besides the state badges.
MAP_WORDS = ("map_legend", "free_places", "unknown", "map_unplaced", "map_grid")

# The overview's tiles, problems first: (filter, count in StationCounts).
TILES = (
    (StationState.ALARMS, "stations_with_alarms"),
    (StationState.OFFLINE, "stations_offline"),
    (StationState.FULL, "stations_full"),
    (StationState.NEARLY_FULL, "stations_nearly_full"),
    (StationState.LOCKDOWN, "stations_lockdown"),
    (StationState.MAINTENANCE, "stations_maintenance"),
    (StationState.CLOSED_BY_HOURS, "stations_closed_by_hours"),
    (StationState.ONLINE, "stations_online"),
    (StationState.ALL, "stations"),
)


def _reported(t: Texts) -> Callable[[datetime | None], str]:
    """「最后上报 N 分钟前」 for a station staff cannot see live (staff.js keeps it current)."""
    now = utcnow()

    def reported(at: datetime | None) -> str:
        if at is None:
            return t("reported_never")
        unit, n = age(at, now)
        return t(f"reported_{unit.value}", n=n)

    return reported


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    session: SessionDep,
    staff: PageStaff,
    query: OverviewQueryDep,
    page: PageNumber = 0,
) -> HTMLResponse:
    """One page of stations (problems first unless asked otherwise), filtered and sorted in
    the database, and the counts of all as tiles that filter."""
    rows, total = overview_page(
        session, query=query, limit=OVERVIEW_PAGE, offset=page * OVERVIEW_PAGE
    )
    unfiltered = query.state is StationState.ALL and not query.text.strip()
    return render_page(
        request,
        "overview.html",
        staff,
        {
            "nav": "overview",
            "rows": rows,
            "total": total,
            "counts": station_counts(session),
            "query": query,
            "states": list(StationState),
            "orders": list(StationOrder),
            "tiles": TILES,
            "unseen": {badge.value for badge in UNSEEN},
            "reported": _reported(Texts(language_of(request))),
            "page": page,
            "per_page": OVERVIEW_PAGE,
            # Every station is on this page: the script filters and sorts it in place.
            "complete": unfiltered and total <= OVERVIEW_PAGE,
            "pager_query": urlencode(
                {"state": query.state.value, "q": query.text, "sort": query.order.value}
            ),
            "tile_query": urlencode({"q": query.text, "sort": query.order.value}),
        },
    )


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, services: ServicesDep, staff: PageStaff) -> HTMLResponse:
    """Every station with coordinates on a map, coloured by state, live. The markers come
    from ``/api/map/stations``; the tiles from the deployment's settings, or none (a grid)."""
    settings = services.settings
    t = Texts(language_of(request))
    tiles = (
        {
            "url": settings.map_tile_url,
            "labels": settings.map_label_url or None,
            "subdomains": settings.map_tile_subdomains or "abc",
            "attribution": settings.map_tile_attribution,
            "maxZoom": settings.map_tile_max_zoom,
            "gcj02": settings.map_tile_gcj02,
        }
        if settings.map_tile_url
        else None
    )
    words = {f"badge_{b.value}": t(f"badge_{b.value}") for b in Badge}
    words |= {key: t(key) for key in MAP_WORDS}
    return render_page(
        request,
        "map.html",
        staff,
        {"nav": "map", "map_settings": {"tiles": tiles, "words": words}},
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    staff: PageStaff,
    since: date | None = None,
    until: date | None = None,
    station_id: Annotated[str, Query(max_length=63)] = "",
) -> HTMLResponse:
    t = Texts(language_of(request))
    choices = station_choices(session, limit=REPORT_PICKER_MAX + 1)
    # "" or unknown: every station
    only = station_id if station_id and get_station(session, station_id=station_id) else None
    today = local_date(utcnow())
    problem = None
    try:
        first, last = report_days(since, until, today)
    except ReportRangeError as exc:  # shown above the default report, not a bare error page
        problem = str(exc)
        first, last = report_days(None, None, today)
    daily = visits_report(session, figures.Period.DAY, first, last, only)
    weekly = visits_report(session, figures.Period.WEEK, first, last, only)
    peaks = peak_hours_report(session, first, last, only)
    shown = [r.station_id for r in daily.rows] + ([only] if only else [])
    names = dict(choices) | station_names(session, shown)
    totals = dict(figures.totals_by_period(figures.VisitRow(**r.model_dump()) for r in daily.rows))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    chart_days = bar_chart(
        title=t("visits_per_day"),
        values=[totals.get(d, 0) for d in days],
        labels=[d.strftime("%m-%d") for d in days],
    )
    chart_hours = bar_chart(
        title=t("peak_hours"),
        values=[h.visits for h in peaks.hours],
        labels=[f"{h.hour:02d}" for h in peaks.hours],
        max_labels=12,
    )
    query = urlencode(
        {"since": first.isoformat(), "until": last.isoformat()}
        | ({"station_id": only} if only else {})
    )
    return render_page(
        request,
        "reports.html",
        staff,
        {
            "nav": "reports",
            "first": first,
            "last": last,
            "daily": daily,
            "weekly": weekly,
            "peaks": peaks,
            "names": names,
            # A list to pick from while it is short; past that, the station's id is typed.
            "choices": choices if len(choices) <= REPORT_PICKER_MAX else None,
            "chart_days": Markup(chart_days),  # noqa: S704
            "chart_hours": Markup(chart_hours),  # noqa: S704
            "query": query,
            "problem": problem,
            "only": only,
        },
    )
