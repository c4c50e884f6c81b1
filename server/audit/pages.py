"""The audit trail for staff, in words: every change (who, when, what, why, before → after),
newest first, all of it or one station's, one actor's or one kind of change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from server.audit.models import AuditEntry
from server.audit.repo import changes, count_audit, list_audit
from server.audit.wording import describe
from server.core.deps import SessionDep
from server.staff.deps import PageStaff
from server.web.language import language_of
from server.web.render import render_page

router = APIRouter(include_in_schema=False)

AUDIT_PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One line of an audit table, already in the reader's words."""

    id: int
    at: datetime
    action: str
    actor: str
    what: str
    change: str
    reason: str
    station_id: str | None


def audit_rows(entries: Sequence[AuditEntry], language: str) -> list[AuditRow]:
    rows = []
    for entry in entries:
        before, after = changes(entry)
        line = describe(
            action=entry.action,
            actor=entry.actor,
            station_id=entry.station_id,
            rider_id=entry.rider_id,
            detail=entry.detail,
            before=before,
            after=after,
            language=language,
        )
        assert entry.id is not None
        rows.append(
            AuditRow(
                entry.id,
                entry.at,
                entry.action,
                line.actor,
                line.what,
                line.change,
                entry.reason,
                entry.station_id,
            )
        )
    return rows


Filter = Annotated[str, Query(max_length=64)]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    staff: PageStaff,
    station: Filter = "",
    actor: Filter = "",
    action: Filter = "",
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    where = {"station_id": station or None, "actor": actor or None, "action": action or None}
    entries = list_audit(session, **where, limit=AUDIT_PER_PAGE, offset=page * AUDIT_PER_PAGE)
    kept = {"station": station, "actor": actor, "action": action}
    return render_page(
        request,
        "audit.html",
        staff,
        {
            "nav": "audit",
            "rows": audit_rows(entries, language_of(request)),
            "total": count_audit(session, **where),
            "page": page,
            "per_page": AUDIT_PER_PAGE,
            "filters": kept,
            "pager_query": urlencode({k: v for k, v in kept.items() if v}),
        },
    )
