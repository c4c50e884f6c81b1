"""The audit trail, for staff: who did what, when and why, before and after, newest first;
each entry also in words (``summary``, in the language of ``?lang=`` or the page cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from server.audit import repo
from server.audit.models import AuditPublic
from server.audit.pages import audit_rows
from server.core.deps import Limit, Offset, SessionDep
from server.staff.deps import AS_VIEWER
from server.web.language import language_of

router = APIRouter(prefix="/api", tags=["audit"])

Filter = Annotated[str | None, Query(max_length=64)]


@router.get("/audit", response_model=list[AuditPublic], dependencies=AS_VIEWER)
def list_audit(
    request: Request,
    session: SessionDep,
    station_id: Filter = None,
    actor: Filter = None,
    action: Filter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[AuditPublic]:
    entries = repo.list_audit(
        session, station_id=station_id, actor=actor, action=action, limit=limit, offset=offset
    )
    lines = audit_rows(entries, language_of(request))
    found = []
    for entry, line in zip(entries, lines, strict=True):
        before, after = repo.changes(entry)
        summary = " · ".join(part for part in (line.what, line.change) if part)
        found.append(
            AuditPublic.model_validate(
                entry, update={"before": before, "after": after, "summary": summary}
            )
        )
    return found
