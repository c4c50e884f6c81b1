"""The audit trail in the database: written in the transaction of the change it records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from server.audit.models import AuditEntry

Fields = Mapping[str, Any]


def _json(fields: Fields | None) -> str:
    return "" if fields is None else json.dumps(dict(fields), ensure_ascii=False, default=str)


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
    before: Fields | None = None,
    after: Fields | None = None,
) -> AuditEntry:
    """Added to the caller's transaction: the audit entry commits with the change it records.
    ``before`` and ``after``: the fields the change touched, as they were and as they are."""
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        station_id=station_id,
        rider_id=rider_id,
        reason=reason,
        detail=detail,
        before=_json(before),
        after=_json(after),
    )
    session.add(entry)
    return entry


def changes(entry: AuditEntry) -> tuple[dict[str, Any], dict[str, Any]]:
    """An entry's before and after as dicts (empty for entries written before they were kept)."""

    def parsed(text: str) -> dict[str, Any]:
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    return parsed(entry.before), parsed(entry.after)


def list_audit(
    session: Session,
    *,
    station_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEntry]:
    statement = select(AuditEntry).where(*_filters(station_id, actor, action))
    statement = statement.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    return list(session.exec(statement.offset(offset).limit(limit)))


def count_audit(
    session: Session,
    *,
    station_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> int:
    statement = select(func.count()).select_from(AuditEntry)
    return session.exec(statement.where(*_filters(station_id, actor, action))).one()


def _filters(station_id: str | None, actor: str | None, action: str | None) -> list[Any]:
    where: list[Any] = []
    if station_id is not None:
        where.append(col(AuditEntry.station_id) == station_id)
    if actor is not None:
        where.append(col(AuditEntry.actor) == actor)
    if action is not None:
        where.append(col(AuditEntry.action) == action)
    return where
