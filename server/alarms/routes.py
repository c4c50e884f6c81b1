"""Alarms, for staff: the list (all stations or one, unacknowledged only) and acknowledging."""

from __future__ import annotations

from fastapi import APIRouter

from server.alarms import repo
from server.alarms.models import AlarmPublic
from server.core.api_errors import ApiError
from server.core.deps import Limit, Offset, SessionDep
from server.core.errors import ConflictError, NotFoundError
from server.core.localtime import utcnow
from server.staff.deps import AS_VIEWER, OperatorDep

router = APIRouter(prefix="/api", tags=["alarms"])


@router.get("/alarms", response_model=list[AlarmPublic], dependencies=AS_VIEWER)
def list_alarms(
    session: SessionDep,
    station_id: str | None = None,
    unacknowledged: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[AlarmPublic]:
    alarms = repo.list_alarms(
        session, station_id=station_id, unacknowledged=unacknowledged, limit=limit, offset=offset
    )
    return [AlarmPublic.model_validate(a) for a in alarms]


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmPublic)
def acknowledge_alarm(alarm_id: int, session: SessionDep, staff: OperatorDep) -> AlarmPublic:
    try:
        alarm = repo.acknowledge_alarm(
            session, alarm_id=alarm_id, by=staff.user.username, now=utcnow()
        )
    except NotFoundError as exc:
        raise ApiError.of(404, exc) from None
    except ConflictError as exc:
        raise ApiError.of(409, exc) from None
    return AlarmPublic.model_validate(alarm)
