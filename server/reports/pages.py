"""The overview (every station, live) and the reports page (visits per day and week, peak
hours, with charts and CSV links)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlmodel import Session

from server.core.deps import SessionDep
from server.core.errors import ErrorCode
from server.core.localtime import local_date, utcnow
from server.reports import figures
from server.reports.aggregates import station_names
from server.reports.listing import (
    StationOrder,
    StationQueryDep,
    StationState,
    station_counts,
)
from server.reports.overview import overview_page
from server.reports.ranges import (
    Preset,
    ReportRangeError,
    parse_day,
    preset_days,
    presets_of,
    report_days,
)
from server.reports.views import peak_hours_report, visits_report
from server.staff.deps import PageStaff
from server.stations.repo import get_station, station_choices
from server.web.charts import bar_chart
from server.web.language import Texts, language_of
from server.web.render import render_page

router = APIRouter(include_in_schema=False)


REPORT_PICKER_MAX = 500
OVERVIEW_PAGE = 200  # rows a page draws and its live stream follows (MAX_STREAM_STATIONS)
PageNumber = Annotated[int, Query(ge=0, le=10_000)]


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    session: SessionDep,
    staff: PageStaff,
    query: StationQueryDep,
    page: PageNumber = 0,
) -> HTMLResponse:
    """One page of stations, filtered and sorted in the database, and the counts of all."""
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
            "page": page,
            "per_page": OVERVIEW_PAGE,
            # Every station is on this page: the script filters and sorts it in place.
            "complete": unfiltered and total <= OVERVIEW_PAGE,
            "pager_query": urlencode(
                {"state": query.state.value, "q": query.text, "sort": query.order.value}
            ),
        },
    )


@dataclass(frozen=True, slots=True)
class PresetLink:
    preset: Preset
    query: str
    current: bool


def _report_query(first: date, last: date, only: str | None) -> str:
    return urlencode(
        {"since": first.isoformat(), "until": last.isoformat()}
        | ({"station_id": only} if only else {})
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    staff: PageStaff,
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
    station_id: Annotated[str, Query(max_length=63)] = "",
) -> HTMLResponse:
    """Visits per day and week and by hour. A range or station a person got wrong is
    explained beside the dates, what they typed kept, and no figures are drawn for it."""
    t = Texts(language_of(request))
    choices = station_choices(session, limit=REPORT_PICKER_MAX + 1)
    today = local_date(utcnow())
    only = station_id.strip() or None
    context: dict[str, object] = {
        "nav": "reports",
        # A list to pick from while it is short; past that, the station's id is typed.
        "choices": choices if len(choices) <= REPORT_PICKER_MAX else None,
        "since_text": since,
        "until_text": until,
        "only": only,
        "problem": None,
        "invalid": (),
    }

    def refused(
        code: ErrorCode, values: dict[str, object], fields: tuple[str, ...]
    ) -> HTMLResponse:
        context.update(problem=t.error(code, values), invalid=fields)
        context["presets"] = _preset_links(today, None, None, only)
        return render_page(request, "reports.html", staff, context, status_code=422)

    try:
        first, last = report_days(parse_day(since, "since"), parse_day(until, "until"), today)
    except ReportRangeError as exc:
        return refused(exc.code, exc.values, exc.fields)
    if only is not None and get_station(session, station_id=only) is None:
        return refused(ErrorCode.NO_STATION, {"id": only}, ("station_id",))
    context |= _report(session, t, first, last, only, choices)
    context["presets"] = _preset_links(today, first, last, only)
    context |= {"since_text": first.isoformat(), "until_text": last.isoformat()}
    return render_page(request, "reports.html", staff, context)


def _preset_links(
    today: date, first: date | None, last: date | None, only: str | None
) -> list[PresetLink]:
    chosen = presets_of(first, last, today) if first and last else set()
    return [PresetLink(p, _report_query(*preset_days(p, today), only), p in chosen) for p in Preset]


def _report(
    session: Session,
    t: Texts,
    first: date,
    last: date,
    only: str | None,
    choices: list[tuple[str, str]],
) -> dict[str, object]:
    """The figures of one valid range, and their charts."""
    daily = visits_report(session, figures.Period.DAY, first, last, only)
    weekly = visits_report(session, figures.Period.WEEK, first, last, only)
    peaks = peak_hours_report(session, first, last, only)
    shown = [r.station_id for r in daily.rows] + ([only] if only else [])
    names = dict(choices) | station_names(session, shown)
    totals = dict(figures.totals_by_period(figures.VisitRow(**r.model_dump()) for r in daily.rows))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    per_day = [totals.get(d, 0) for d in days]
    chart_days = bar_chart(
        title=t("visits_per_day"),
        y_title=t("chart_visits_axis"),
        values=per_day,
        labels=[d.strftime("%m-%d") for d in days],
        tips=[t("chart_day_tip", day=d, n=n) for d, n in zip(days, per_day, strict=True)],
    )
    chart_hours = bar_chart(
        title=t("peak_hours"),
        y_title=t("chart_visits_axis"),
        values=[h.visits for h in peaks.hours],
        labels=[f"{h.hour:02d}" for h in peaks.hours],
        tips=[t("chart_hour_tip", hour=f"{h.hour:02d}", n=h.visits) for h in peaks.hours],
    )
    return {
        "first": first,
        "last": last,
        "daily": daily,
        "weekly": weekly,
        "peaks": peaks,
        "names": names,
        "chart_days": Markup(chart_days),  # noqa: S704 (built by charts.py, every text escaped)
        "chart_hours": Markup(chart_hours),  # noqa: S704
        "query": _report_query(first, last, only),
    }
