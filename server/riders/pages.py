"""The riders page for staff: search, enrol, revoke, and a rider's new personal link shown once
as text and QR code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from server.core.deps import ServicesDep, SessionDep
from server.core.errors import NotFoundError
from server.core.localtime import utcnow
from server.riders import repo
from server.riders.models import Platform, RiderCreate
from server.riders.tokens import render_qr_svg
from server.staff.deps import PageOperator, PageStaff
from server.staff.repo import Authenticated
from server.web.render import render_page

router = APIRouter(include_in_schema=False)

RIDERS_PER_PAGE = 50


def _riders_context(session: SessionDep, q: str, page: int) -> dict[str, Any]:
    riders, total = repo.search_riders(
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
    return render_page(request, "riders.html", staff, _riders_context(session, q, page))


def _with_link(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    staff: Authenticated,
    rider_id: str,
    secret: str,
) -> HTMLResponse:
    """The riders page with one rider's new personal link as text and QR code: shown once,
    never cached (the link is the rider's key)."""
    base = services.settings.public_base_url or str(request.base_url)
    link = f"{base.rstrip('/')}/r/{secret}"
    context = _riders_context(session, rider_id, 0)
    context["new_link"] = {"rider_id": rider_id, "url": link, "qr": Markup(render_qr_svg(link))}  # noqa: S704
    return render_page(request, "riders.html", staff, context, no_store=True, switch_path="/riders")


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
    rider, secret = repo.create_rider(
        session, rider_in=rider_in, now=utcnow(), by=staff.user.username
    )
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
        secret = repo.renew_rider_link(
            session, rider_id=rider_id, now=utcnow(), by=staff.user.username
        )
    except NotFoundError:
        return render_page(
            request, "not_found.html", staff, {"what": rider_id, "nav": "riders"}, status_code=404
        )
    return _with_link(request, services, session, staff, rider_id, secret)
