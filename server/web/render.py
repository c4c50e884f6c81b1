"""How pages are made: the Jinja2 templates and static files every page uses (no CDN: stations
and offices may have no internet), and ``render_page``, which gives each staff page its
language, its words, the logged-in account and the CSRF token."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from server.core.localtime import as_local
from server.staff.models import Role
from server.staff.repo import Authenticated
from server.web.language import LANG_COOKIE, Texts, language_of

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC_DIR = Path(__file__).parent / "static"


def _local(value: datetime | None) -> str:
    """Union staff read China time."""
    return "" if value is None else as_local(value).strftime("%m-%d %H:%M:%S")


def _local_minute(value: datetime | None) -> str:
    """To the minute: "since when" needs no seconds."""
    return "" if value is None else as_local(value).strftime("%m-%d %H:%M")


templates.env.filters["local"] = _local
templates.env.filters["local_minute"] = _local_minute

# The words the pages' script (static/staff.js) needs.
SCRIPT_WORDS = (
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
    "alarm_new",
    "since_time",
    "role_viewer",
    "role_operator",
    "role_admin",
    "colon",
    "list_sep",
    # the API's field names, for its "invalid input" errors
    "field_reason",
    "field_target",
    "field_capacity",
    "field_mode",
    "field_kind",
    "field_display_name",
    "field_platform",
    "field_since",
    "field_until",
    "field_username",
    "field_password",
    # the overview's states and the map (issue 14)
    "badge_open",
    "badge_closed_by_hours",
    "badge_lockdown",
    "badge_maintenance",
    "badge_full",
    "badge_nearly_full",
    "badge_offline",
    "badge_never_connected",
    "reported_never",
    "reported_just_now",
    "reported_minutes",
    "reported_hours",
    "reported_days",
    "offline_reason_disconnected",
    "offline_reason_heartbeat_missed",
    "last_known",
    "unknown",
    "state_full",
    "state_nearly_full",
    "announce_state",
    "announce_alarm",
    "door",
    "active_alarms",
    "occupancy_now",
    "free_places",
    "open_station",
    "map_legend",
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


def render_page(
    request: Request,
    template: str,
    staff: Authenticated | None,
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
            # and the API's errors (error.<code>), said in the page's language
            "script_words": t.as_dict(*SCRIPT_WORDS) | t.family("error"),
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
