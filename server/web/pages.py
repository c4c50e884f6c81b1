"""The first staff page: every station's online state, occupancy and the latest events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from server import crud
from server.api.deps import SessionDep
from server.models import as_utc

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
_LOCAL = ZoneInfo("Asia/Shanghai")  # union staff read China time


def _local(value: datetime | None) -> str:
    return "" if value is None else as_utc(value).astimezone(_LOCAL).strftime("%m-%d %H:%M:%S")


templates.env.filters["local"] = _local


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep) -> HTMLResponse:
    stations = crud.list_stations(session)
    events = crud.recent_events(session, limit=25)
    return templates.TemplateResponse(
        request, "overview.html", {"stations": stations, "events": events}
    )
