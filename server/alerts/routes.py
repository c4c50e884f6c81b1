"""Notifiers, for admins: where alarms are sent (list, add, replace, remove), and what
happened to each delivery. Every change is audited; a secret is never shown nor audited.
A bad configuration (address, format, stations, kinds, quiet hours, SMS template) is refused
with 422 naming the field, a duplicate name with 409, and nothing is stored."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from server.alerts import repo
from server.alerts.models import DeliveryPublic, Notifier, NotifierPublic, NotifierWrite, public
from server.audit.repo import audit
from server.core.api_errors import ApiError
from server.core.deps import Limit, Offset, SessionDep
from server.core.errors import ErrorCode
from server.core.localtime import utcnow
from server.staff.deps import AS_ADMIN, AdminDep

router = APIRouter(prefix="/api", tags=["alerts"])


def _notifier_or_404(session: SessionDep, notifier_id: int) -> Notifier:
    notifier = session.get(Notifier, notifier_id)
    if notifier is None:
        raise ApiError(status.HTTP_404_NOT_FOUND, ErrorCode.NO_NOTIFIER, id=notifier_id)
    return notifier


def _describe(notifier: Notifier) -> dict[str, object]:
    """What the audit trail keeps of a notifier (never its secret or address)."""
    return {"name": notifier.name, "format": notifier.format, "stations": notifier.stations}


@router.get("/notifiers", response_model=list[NotifierPublic], dependencies=AS_ADMIN)
def list_notifiers(session: SessionDep) -> list[NotifierPublic]:
    return [NotifierPublic.model_validate(public(n)) for n in repo.list_notifiers(session)]


@router.post("/notifiers", status_code=status.HTTP_201_CREATED, response_model=NotifierPublic)
def create_notifier(change: NotifierWrite, session: SessionDep, staff: AdminDep) -> NotifierPublic:
    if repo.name_taken(session, name=change.name):
        raise ApiError(status.HTTP_409_CONFLICT, ErrorCode.NOTIFIER_EXISTS, name=change.name)
    now = utcnow()
    notifier = repo.new_notifier(session, change, now=now)
    session.flush()
    added = _describe(notifier)
    audit(session, actor=staff.user.username, action="notifier_added", at=now, after=added)
    session.commit()
    session.refresh(notifier)
    return NotifierPublic.model_validate(public(notifier))


@router.get("/notifiers/{notifier_id}", response_model=NotifierPublic, dependencies=AS_ADMIN)
def read_notifier(notifier_id: int, session: SessionDep) -> NotifierPublic:
    return NotifierPublic.model_validate(public(_notifier_or_404(session, notifier_id)))


@router.put("/notifiers/{notifier_id}", response_model=NotifierPublic)
def replace_notifier(
    notifier_id: int, change: NotifierWrite, session: SessionDep, staff: AdminDep
) -> NotifierPublic:
    """The whole notifier; without ``secret`` the stored secret is kept."""
    notifier = _notifier_or_404(session, notifier_id)
    if repo.name_taken(session, name=change.name, other_than=notifier_id):
        raise ApiError(status.HTTP_409_CONFLICT, ErrorCode.NOTIFIER_EXISTS, name=change.name)
    before = _describe(notifier)
    repo.write_notifier(session, notifier, change, keep_secret=True)
    now = utcnow()
    audit(
        session,
        actor=staff.user.username,
        action="notifier_changed",
        at=now,
        before=before,
        after=_describe(notifier),
    )
    session.commit()
    session.refresh(notifier)
    return NotifierPublic.model_validate(public(notifier))


@router.delete("/notifiers/{notifier_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_notifier(notifier_id: int, session: SessionDep, staff: AdminDep) -> Response:
    notifier = _notifier_or_404(session, notifier_id)
    before = _describe(notifier)
    repo.delete_notifier(session, notifier)
    audit(session, actor=staff.user.username, action="notifier_removed", at=utcnow(), before=before)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/alert-deliveries", response_model=list[DeliveryPublic], dependencies=AS_ADMIN)
def list_deliveries(
    session: SessionDep, alarm_id: int | None = None, limit: Limit = 50, offset: Offset = 0
) -> list[DeliveryPublic]:
    """Newest first: pending (with the last error and the next try), delivered, given up."""
    rows = repo.list_deliveries(session, alarm_id=alarm_id, limit=limit, offset=offset)
    return [DeliveryPublic.model_validate(row) for row in rows]
