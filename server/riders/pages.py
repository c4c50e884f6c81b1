"""The riders page for staff: search, enrol, revoke, a rider's new personal link as text and QR
code (with their name, a copy and a print button), requests to join waiting for a decision, and
invite codes.

Every form posts and redirects (post/redirect/get): reloading the page that answers never
sends the form again, so it never enrols a second rider. A new link reaches that page sealed
for this login only (``handout.py``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from sqlmodel import Session

from protocol.trust import bucket_of
from server.core.deps import ServicesDep, SessionDep
from server.core.errors import NotFoundError
from server.core.localtime import utcnow
from server.core.settings import ServerSettings
from server.join import repo as join_repo
from server.join import rules as join_rules
from server.join.rules import MAX_INVITE_DAYS, MAX_INVITES_PER_BATCH
from server.riders import handout, repo
from server.riders.models import CHOSEN_PLATFORMS, Platform, RiderCreate
from server.riders.tokens import render_qr_svg
from server.staff.deps import PageOperator, PageStaff, session_token
from server.web.render import render_page

router = APIRouter(include_in_schema=False)

RIDERS_PER_PAGE = 50
# What the answering page may say after a form (?done=...): fixed words, never echoed text.
DONE = frozenset({"approved_request", "refused_request", "request_gone"})
_SHOWN_CODE = re.compile(r"[A-Z0-9-]{0,9}")
_RIDER_ID = re.compile(r"(r-[a-z0-9]{1,29})?")


def public_url(request: Request, settings: ServerSettings, path: str) -> str:
    base = settings.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}{path}"


def _phone_hash(q: str, settings: ServerSettings) -> str | None:
    """A search for a phone number looks for its keyed hash (the number is never stored)."""
    number = join_rules.mainland_mobile(q)
    if number is None or settings.phone_hash_key is None:
        return None
    return join_rules.phone_hash(number, key=settings.phone_hash_key.get_secret_value().encode())


def _riders_context(
    request: Request, session: Session, settings: ServerSettings, q: str, page: int
) -> dict[str, Any]:
    riders, total = repo.search_riders(
        session,
        q=q.strip(),
        limit=RIDERS_PER_PAGE,
        offset=page * RIDERS_PER_PAGE,
        phone_hash=_phone_hash(q, settings),
    )
    now = utcnow()
    return {
        "nav": "riders",
        "riders": riders,
        "riders_total": total,
        "q": q,
        "page": page,
        "per_page": RIDERS_PER_PAGE,
        "platforms": list(CHOSEN_PLATFORMS),
        "new_link": None,
        "pending": join_repo.pending_requests(session, now=now),
        "show_code": join_rules.show_code,
        "batches": join_repo.list_batches(session, limit=10),
        "join_url": public_url(request, settings, "/join"),
        "max_invites": MAX_INVITES_PER_BATCH,
        "max_invite_days": MAX_INVITE_DAYS,
        "handout_minutes": handout.HANDOUT_S // 60,
    }


@router.get("/riders", response_class=HTMLResponse)
def riders_page(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    staff: PageStaff,
    q: Annotated[str, Query(max_length=80)] = "",
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
    enrolled: Annotated[str, Query(max_length=32)] = "",
    k: Annotated[str, Query(max_length=200)] = "",
    done: Annotated[str, Query(max_length=32)] = "",
    code: Annotated[str, Query(max_length=16)] = "",
    rider: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    settings = services.settings
    context = _riders_context(request, session, settings, q, page)
    no_store = False
    if enrolled:
        # The answer to enrolling or a new link: the rider's card, and their link while this
        # login may still see it.
        shown = repo.get_rider(session, rider_id=enrolled)
        if shown is not None:
            secret = handout.unseal(
                k, rider_id=shown.id, session_token=session_token(request)[0], now=services.clock()
            )
            url = public_url(request, settings, f"/r/{secret}") if secret else None
            context["new_link"] = {
                "rider_id": shown.id,
                "name": shown.display_name,
                "url": url,
                "qr": Markup(render_qr_svg(url)) if url else None,  # noqa: S704
            }
            no_store = True  # the link is the rider's key
    if done in DONE and _SHOWN_CODE.fullmatch(code) and _RIDER_ID.fullmatch(rider):
        context["done"] = {"key": done, "code": code, "id": rider}
    return render_page(request, "riders.html", staff, context, no_store=no_store)


def _show_link(request: Request, services: ServicesDep, rider_id: str, secret: str) -> Any:
    sealed = handout.seal(
        secret, rider_id=rider_id, session_token=session_token(request)[0], now=services.clock()
    )
    return RedirectResponse(f"/riders?enrolled={rider_id}&k={sealed}", status_code=303)


@router.post("/riders/enrol", response_class=RedirectResponse)
def enrol_form(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    staff: PageOperator,
    display_name: Annotated[str, Form(max_length=80)] = "",
    platform: Annotated[Platform, Form()] = Platform.OTHER,
) -> Any:
    rider_in = RiderCreate(display_name=display_name.strip(), platform=platform)
    rider, secret = repo.create_rider(
        session, rider_in=rider_in, now=utcnow(), by=staff.user.username
    )
    return _show_link(request, services, rider.id, secret)


@router.post("/riders/{rider_id}/renew", response_class=HTMLResponse)
def renew_form(
    request: Request,
    rider_id: str,
    session: SessionDep,
    services: ServicesDep,
    staff: PageOperator,
) -> Any:
    try:
        secret = repo.renew_rider_link(
            session, rider_id=rider_id, now=utcnow(), by=staff.user.username, commit=False
        )
    except NotFoundError:
        return render_page(
            request, "not_found.html", staff, {"what": rider_id, "nav": "riders"}, status_code=404
        )
    session.commit()  # with its audit entry (repo.renew_rider_link)
    services.publisher.publish_denylist(bucket_of(rider_id))
    return _show_link(request, services, rider_id, secret)
