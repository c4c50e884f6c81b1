"""The audit trail, for staff: who did what, when and why, newest first."""

from __future__ import annotations

from fastapi import APIRouter

from server.audit import repo
from server.audit.models import AuditPublic
from server.core.deps import Limit, Offset, SessionDep
from server.staff.deps import AS_VIEWER

router = APIRouter(prefix="/api", tags=["audit"])


@router.get("/audit", response_model=list[AuditPublic], dependencies=AS_VIEWER)
def list_audit(
    session: SessionDep, station_id: str | None = None, limit: Limit = 50, offset: Offset = 0
) -> list[AuditPublic]:
    entries = repo.list_audit(session, station_id=station_id, limit=limit, offset=offset)
    return [AuditPublic.model_validate(e) for e in entries]
