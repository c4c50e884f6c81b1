"""The audit trail in the database: written in the transaction of the change it records."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from server.audit.models import AuditEntry


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    station_id: str | None = None,
    rider_id: str | None = None,
    reason: str = "",
    detail: str = "",
) -> None:
    """Added to the caller's transaction: the audit entry commits with the change it records."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            action=action,
            station_id=station_id,
            rider_id=rider_id,
            reason=reason,
            detail=detail,
        )
    )


def list_audit(
    session: Session, *, station_id: str | None = None, limit: int = 50, offset: int = 0
) -> list[AuditEntry]:
    statement = select(AuditEntry)
    if station_id is not None:
        statement = statement.where(AuditEntry.station_id == station_id)
    statement = statement.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    return list(session.exec(statement.offset(offset).limit(limit)))
