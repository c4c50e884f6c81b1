"""Alarms, for staff: the list across stations (by kind, station and state), acknowledging and
resolving with a note (both audited), and the live stream every staff page listens to."""

from __future__ import annotations

import re
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

import i18n
from protocol.topics import STATION_ID_PATTERN
from server.alarms import repo
from server.alarms.live import MAX_FOLLOWED, AlarmFeed, NewestAlarm
from server.alarms.models import AlarmNote, AlarmPublic, AlarmResolution, AlarmState
from server.alarms.repo import AlarmFilter
from server.core.api_errors import ApiError
from server.core.deps import Limit, Offset, ServicesDep, SessionDep
from server.core.errors import ConflictError, ErrorCode, NotFoundError
from server.core.localtime import utcnow
from server.staff.deps import AS_VIEWER, DECLARES_LOGIN, OperatorDep, staff_session
from server.web.language import language_of

router = APIRouter(prefix="/api", tags=["alarms"])

STATION_ID = re.compile(STATION_ID_PATTERN)
KindQuery = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")]


@router.get("/alarms", response_model=list[AlarmPublic], dependencies=AS_VIEWER)
def list_alarms(
    session: SessionDep,
    station_id: str | None = None,
    kind: KindQuery = None,
    state: AlarmState | None = None,
    unacknowledged: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[AlarmPublic]:
    """Newest first, across stations or for one; ``state``: open, acknowledged, resolved."""
    which = AlarmFilter(
        station_id=station_id, kind=kind, state=state, unacknowledged=unacknowledged
    )
    alarms = repo.list_alarms(session, which=which, limit=limit, offset=offset)
    return [AlarmPublic.model_validate(a) for a in alarms]


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmPublic)
def acknowledge_alarm(
    alarm_id: int, session: SessionDep, staff: OperatorDep, body: AlarmNote | None = None
) -> AlarmPublic:
    """Seen and being handled; a note is optional."""
    try:
        alarm = repo.acknowledge_alarm(
            session,
            alarm_id=alarm_id,
            by=staff.user.username,
            now=utcnow(),
            note=body.note if body else "",
        )
    except NotFoundError as exc:
        raise ApiError.of(404, exc) from None
    except ConflictError as exc:
        raise ApiError.of(409, exc) from None
    return AlarmPublic.model_validate(alarm)


@router.post("/alarms/{alarm_id}/resolve", response_model=AlarmPublic)
def resolve_alarm(
    alarm_id: int, body: AlarmResolution, session: SessionDep, staff: OperatorDep
) -> AlarmPublic:
    """Handled: the note (required) says how. An open alarm is acknowledged at once too."""
    try:
        alarm = repo.resolve_alarm(
            session, alarm_id=alarm_id, by=staff.user.username, now=utcnow(), note=body.note
        )
    except NotFoundError as exc:
        raise ApiError.of(404, exc) from None
    except ConflictError as exc:
        raise ApiError.of(409, exc) from None
    return AlarmPublic.model_validate(alarm)


def get_alarm_feed(request: Request) -> AlarmFeed:
    feed: AlarmFeed = request.app.state.alarm_feed
    return feed


def _followed(station_id: list[str]) -> list[str]:
    found = sorted(set(station_id))
    if len(found) > MAX_FOLLOWED:
        raise ApiError(422, ErrorCode.STREAM_TOO_MANY, n=MAX_FOLLOWED)
    if any(not STATION_ID.fullmatch(s) for s in found):
        raise ApiError(422, ErrorCode.STREAM_BAD_IDS)
    return found


@router.get(
    "/alarms/stream",
    response_class=StreamingResponse,
    dependencies=DECLARES_LOGIN,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "server-sent events: `alarms` with the open count, a version that "
            "changes with every alarm change, and the newest alarm (its `text` in the page's "
            "language); `activity` with the followed stations' last event times",
        }
    },
)
async def stream(
    request: Request,
    services: ServicesDep,
    feed: Annotated[AlarmFeed, Depends(get_alarm_feed)],
    station_id: Annotated[list[str], Query(description="stations to follow (a page's)")] = [],  # noqa: B006
) -> StreamingResponse:
    """Every staff page's alarm count and notifications, the console's and the station page's
    live tables. The login is checked once, off the event loop."""
    followed = _followed(station_id)

    def check_login() -> None:
        with Session(services.engine) as session:
            staff_session(request, session)

    await anyio.to_thread.run_sync(check_login)
    words = i18n.catalogue(language_of(request))

    def describe(alarm: NewestAlarm) -> str:
        kind = words.get(f"code.{alarm.kind}", alarm.kind)
        return words["page.alarm_notice"].format(station=alarm.station_name, kind=kind)

    return StreamingResponse(
        feed.stream(followed, describe),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
