"""The Jinja2 environment shared by the staff pages (``staff_pages``) and the rider page, and
the static files they load (no CDN: stations and offices may have no internet)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from server.models import as_utc

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC_DIR = Path(__file__).parent / "static"
_LOCAL = ZoneInfo("Asia/Shanghai")  # union staff read China time


def _local(value: datetime | None) -> str:
    return "" if value is None else as_utc(value).astimezone(_LOCAL).strftime("%m-%d %H:%M:%S")


templates.env.filters["local"] = _local
