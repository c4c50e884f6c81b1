"""The staff pages: login, overview, station, riders, reports. Server-rendered; a small script
(static/staff.js) sends actions to the JSON API with the session's CSRF token and keeps the
overview live. Every page but the login needs a session (else: redirect to /login)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from server import auth, crud, dashboard_crud, reports
from server.api.deps import ServicesDep, SessionDep, current_staff, require
from server.credentials import render_qr_svg
from server.dashboard_models import OccupancyHistory
from server.dashboard_views import (
    ReportRangeError,
    load_entries,
    occupancy_history,
    peak_hours_report,
    report_days,
    visits_report,
)
from server.models import Platform, RiderCreate, Role, utcnow
from server.web.charts import bar_chart, step_chart
from server.web.i18n import LANG_COOKIE, Texts, language_of
from server.web.pages import templates

router = APIRouter(include_in_schema=False)

PageStaff = Annotated[auth.Authenticated, Depends(current_staff)]
PageOperator = Annotated[auth.Authenticated, Depends(require(Role.OPERATOR))]
EVENTS_PER_PAGE = 25
RIDERS_PER_PAGE = 50
_SCRIPT_WORDS = (
    "online",
    "offline",
    "since",
    "shown",
    "live",
    "reconnecting",
    "wrong_login",
    "locked",
    "login_failed",
    "error",
    "forbidden",
    "door_locked",
    "door_unlocked",
    "door_open",
    "door_closed",
    "door_held_open",
    "door_forced_open",
    "lockdown",
    "maintenance",
)


def _switch_url(request: Request, language: str, switch_path: str | None) -> str:
    """The same page in the other language, its query kept (a form's answer: ``switch_path``,
    since the form's own address cannot be fetched)."""
    if switch_path is not None:
        params: dict[str, str] = {}
    else:
        params = dict(request.query_params)
    params["lang"] = "en" if language == "zh" else "zh"
    return f"{switch_path or request.url.path}?{urlencode(params)}"


def _render(
    request: Request,
    template: str,
    staff: auth.Authenticated | None,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    no_store: bool = False,
    switch_path: str | None = None,
) -> HTMLResponse:
    language = language_of(request)
    t = Texts(language)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "lang": language,
            "staff": staff.user if staff else None,
            "csrf_token": staff.csrf_token if staff else "",
            "is_operator": staff is not None and staff.user.role.rank >= Role.OPERATOR.rank,
            "script_words": t.as_dict(*_SCRIPT_WORDS),
            "path": request.url.path,
            "other_language_url": _switch_url(request, language, switch_path),
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") == language:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86_400, samesite="lax")
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, next_: Annotated[str, Query(alias="next", max_length=500)] = "/"
) -> HTMLResponse:
    # Only a path on this site: an open redirect would help phishing.
    target = next_ if next_.startswith("/") and not next_.startswith(("//", "/\\")) else "/"
    return _render(request, "login.html", None, {"next": target})


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, staff: PageStaff) -> HTMLResponse:
    rows = dashboard_crud.station_rows(session)
    return _render(request, "overview.html", staff, {"rows": rows, "nav": "overview"})


def _history_chart(history: OccupancyHistory, title: str, daily: bool) -> Markup:
    labels = []
    for point in history.points:
        local = reports.as_local(point.start)
        if daily:
            labels.append(local.strftime("%m-%d") if local.hour == 0 else "")
        else:
            labels.append(local.strftime("%H:%M") if local.minute == 0 else "")
    svg = step_chart(
        title=title,
        values=[p.occupancy for p in history.points],
        peaks=[p.peak for p in history.points],
        labels=labels,
        capacity=history.capacity,
        max_labels=8,
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
    station = crud.get_station(session, station_id=station_id)
    t = Texts(language_of(request))
    if station is None:
        return _render(
            request, "not_found.html", staff, {"what": station_id, "nav": ""}, status_code=404
        )
    now = utcnow()
    day = occupancy_history(session, station, reports.Range.DAY, now)
    week = occupancy_history(session, station, reports.Range.WEEK, now)
    events, total = dashboard_crud.list_events(
        session, station_id=station_id, limit=EVENTS_PER_PAGE, offset=page * EVENTS_PER_PAGE
    )
    row = dashboard_crud.station_rows(session, station_ids=[station_id])[0]
    return _render(
        request,
        "station.html",
        staff,
        {
            "nav": "",
            "station": station,
            "row": row,
            "chart_day": _history_chart(day, t("chart_24h"), daily=False),
            "chart_week": _history_chart(week, t("chart_7d"), daily=True),
            "events": events,
            "events_total": total,
            "page": page,
            "per_page": EVENTS_PER_PAGE,
            "alarms": crud.list_alarms(session, station_id=station_id, limit=20),
            "audit": crud.list_audit(session, station_id=station_id, limit=30),
        },
    )


def _riders_context(session: SessionDep, q: str, page: int) -> dict[str, Any]:
    riders, total = dashboard_crud.search_riders(
        session, q=q.strip(), limit=RIDERS_PER_PAGE, offset=page * RIDERS_PER_PAGE
    )
    return {
        "nav": "riders",
        "riders": riders,
        "riders_total": total,
        "q": q,
        "page": page,
        "per_page": RIDERS_PER_PAGE,
        "platforms": list(Platform),
        "new_link": None,
    }


@router.get("/riders", response_class=HTMLResponse)
def riders_page(
    request: Request,
    session: SessionDep,
    staff: PageStaff,
    q: Annotated[str, Query(max_length=80)] = "",
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    return _render(request, "riders.html", staff, _riders_context(session, q, page))


def _with_link(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    staff: auth.Authenticated,
    rider_id: str,
    secret: str,
) -> HTMLResponse:
    """The riders page with one rider's new personal link as text and QR code: shown once,
    never cached (the link is the rider's key)."""
    base = services.settings.public_base_url or str(request.base_url)
    link = f"{base.rstrip('/')}/r/{secret}"
    context = _riders_context(session, rider_id, 0)
    context["new_link"] = {"rider_id": rider_id, "url": link, "qr": Markup(render_qr_svg(link))}  # noqa: S704
    return _render(request, "riders.html", staff, context, no_store=True, switch_path="/riders")


@router.post("/riders/enrol", response_class=HTMLResponse)
def enrol_form(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    staff: PageOperator,
    display_name: Annotated[str, Form(max_length=80)] = "",
    platform: Annotated[Platform, Form()] = Platform.OTHER,
) -> HTMLResponse:
    rider_in = RiderCreate(display_name=display_name.strip(), platform=platform)
    rider, secret = crud.create_rider(session, rider_in=rider_in, now=utcnow())
    return _with_link(request, services, session, staff, rider.id, secret)


@router.post("/riders/{rider_id}/renew", response_class=HTMLResponse)
def renew_form(
    request: Request,
    rider_id: str,
    session: SessionDep,
    services: ServicesDep,
    staff: PageOperator,
) -> HTMLResponse:
    try:
        secret = crud.renew_rider_link(session, rider_id=rider_id)
    except crud.NotFoundError:
        return _render(
            request, "not_found.html", staff, {"what": rider_id, "nav": "riders"}, status_code=404
        )
    return _with_link(request, services, session, staff, rider_id, secret)


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
    names = {s.id: s.name for s in crud.list_stations(session)}
    only = station_id if station_id in names else None  # "" or unknown: every station
    today = reports.local_date(datetime.now(UTC))
    problem = None
    try:
        first, last = report_days(since, until, today)
    except ReportRangeError as exc:  # shown above the default report, not a bare error page
        problem = str(exc)
        first, last = report_days(None, None, today)
    found = load_entries(session, first, last, only)
    daily = visits_report(session, reports.Period.DAY, first, last, only, found)
    weekly = visits_report(session, reports.Period.WEEK, first, last, only, found)
    peaks = peak_hours_report(session, first, last, only, found)
    totals = dict(reports.totals_by_period(reports.VisitRow(**r.model_dump()) for r in daily.rows))
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
    return _render(
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
            "chart_days": Markup(chart_days),  # noqa: S704
            "chart_hours": Markup(chart_hours),  # noqa: S704
            "query": query,
            "problem": problem,
            "only": only,
        },
    )
