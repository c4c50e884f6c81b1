"""Joining, as pages: the public /join page a rider opens on a phone (zh-CN first, English,
no login, no third-party script), and for staff the forms of the riders page that decide
requests and make invite codes (each posts, then redirects), and a batch's printable list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

import i18n
from server.core.deps import ServicesDep, SessionDep
from server.core.errors import ConflictError, NotFoundError
from server.core.localtime import as_local, utcnow
from server.join import repo, rules
from server.join.models import JoinRequest
from server.riders.models import CHOSEN_PLATFORMS, Platform
from server.riders.pages import public_url
from server.riders.tokens import render_qr_svg
from server.staff.deps import PageOperator, PageStaff
from server.web.render import render_page, templates

router = APIRouter(include_in_schema=False)

# The page may carry an invite code in its address: no Referer anywhere, nothing cached.
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get("/join", response_class=HTMLResponse)
def join_page(
    request: Request,
    services: ServicesDep,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
    invite: Annotated[str, Query(max_length=32)] = "",
    accept_language: Annotated[str, Header()] = "",
) -> HTMLResponse:
    """The rider picks a platform (and may give a name) and asks; the page then shows the
    request's code and waits, and turns into the rider's pass once staff approve."""
    language = lang or ("en" if accept_language.lower().startswith("en") else "zh")
    settings = services.settings
    words = i18n.catalogue(language)
    texts = i18n.family("join", language)
    invite_code = rules.typed_code(invite)
    context: dict[str, Any] = {
        "language": language,
        "other_language": "en" if language == "zh" else "zh",
        "texts": texts,
        "platforms": [(p.value, words[f"page.platform_{p.value}"]) for p in CHOSEN_PLATFORMS],
        "asks_phone": settings.join_asks_phone,
        "invite": rules.show_code(invite_code) if invite_code.isalnum() else "",
        "hotline": settings.hotline,
        "script": {"texts": texts, "lang": language, "max_name": rules.MAX_NAME_CHARS},
        "max_name": rules.MAX_NAME_CHARS,
    }
    return templates.TemplateResponse(request, "join.html", context, headers=_PAGE_HEADERS)


def _back(done: str, code: str = "", rider: str = "") -> RedirectResponse:
    return RedirectResponse(f"/riders?done={done}&code={code}&rider={rider}", status_code=303)


@router.post("/riders/requests/{request_id}/approve", response_class=RedirectResponse)
def approve_form(request_id: int, session: SessionDep, staff: PageOperator) -> Any:
    return _decide(session, staff.user.username, request_id, approve=True)


@router.post("/riders/requests/{request_id}/refuse", response_class=RedirectResponse)
def refuse_form(request_id: int, session: SessionDep, staff: PageOperator) -> Any:
    return _decide(session, staff.user.username, request_id, approve=False)


def _decide(session: SessionDep, staff: str, request_id: int, *, approve: bool) -> Any:
    now = utcnow()
    try:
        if approve:
            decided = repo.approve(session, request_id=request_id, staff=staff, now=now)
        else:
            decided = repo.refuse(session, request_id=request_id, staff=staff, now=now)
    except (NotFoundError, ConflictError):  # expired, decided by someone else, or unknown
        stored = session.get(JoinRequest, request_id)
        return _back("request_gone", rules.show_code(stored.code) if stored else "")
    code = rules.show_code(decided.code)
    if approve:
        return _back("approved_request", code, decided.rider_id or "")
    return _back("refused_request", code)


@router.post("/riders/invites", response_class=RedirectResponse)
def invites_form(
    session: SessionDep,
    staff: PageOperator,
    platform: Annotated[Platform, Form()],
    count: Annotated[int, Form(ge=1, le=rules.MAX_INVITES_PER_BATCH)],
    days: Annotated[int, Form(ge=1, le=rules.MAX_INVITE_DAYS)] = 30,
    note: Annotated[str, Form(max_length=80)] = "",
) -> Any:
    batch = repo.create_invites(
        session,
        platform=platform,
        count=count,
        days=days,
        note=note.strip(),
        staff=staff.user.username,
        now=utcnow(),
    )
    return RedirectResponse(f"/riders/invites/{batch.id}", status_code=303)


@router.get("/riders/invites/{batch_id}", response_class=HTMLResponse)
def invite_sheet(
    request: Request, batch_id: int, session: SessionDep, services: ServicesDep, staff: PageStaff
) -> HTMLResponse:
    """A batch's codes, each with the QR of its /join address, to print and hand out."""
    try:
        batch, codes = repo.batch_codes(session, batch_id=batch_id)
    except NotFoundError:
        return render_page(
            request,
            "not_found.html",
            staff,
            {"what": f"#{batch_id}", "nav": "riders"},
            status_code=404,
        )
    join_url = public_url(request, services.settings, "/join")
    rows = [
        {
            "code": rules.show_code(c.code),
            "used": c.used_at is not None,
            "qr": Markup(render_qr_svg(f"{join_url}?invite={c.code}")),  # noqa: S704
        }
        for c in codes
    ]
    context = {
        "nav": "riders",
        "batch": batch,
        "rows": rows,
        "join_url": join_url,
        "expires_on": as_local(batch.expires_at).strftime("%Y-%m-%d"),
    }
    return render_page(request, "invites.html", staff, context, no_store=True)
