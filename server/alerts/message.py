"""An alarm in words for staff's chats and phones. Pure: the alarm's facts in, an
``AlertMessage`` out, in the notifier's language (Chinese by default)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import i18n
from server.alarms.details import detail_words
from server.alerts.formats import AlertMessage
from server.core.localtime import LOCAL_TZ


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    alarm_id: int
    station_id: str
    station_name: str
    kind: str
    raised_at: datetime  # aware
    detail: str


def kind_words(kind: str, language: str) -> str:
    key = f"code.{kind}"
    return i18n.text(key, language) if i18n.has(key) else kind


def station_link(public_url: str, station_id: str) -> str:
    return f"{public_url.rstrip('/')}/stations/{station_id}" if public_url else ""


def compose(
    facts: AlarmFacts, *, language: str, public_url: str, tz: ZoneInfo = LOCAL_TZ
) -> AlertMessage:
    words = kind_words(facts.kind, language)
    local = facts.raised_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        i18n.text("alert.station", language, station=facts.station_name, id=facts.station_id),
        i18n.text("alert.kind", language, kind=words),
        i18n.text("alert.time", language, time=local),
    ]
    if facts.detail:
        said = detail_words(facts.detail, language)
        lines.append(i18n.text("alert.detail", language, detail=said))
    return AlertMessage(
        alarm_id=facts.alarm_id,
        station_id=facts.station_id,
        station_name=facts.station_name,
        kind=facts.kind,
        kind_words=words,
        raised_at_local=local,
        raised_at_iso=facts.raised_at.isoformat(),
        detail=facts.detail,
        link=station_link(public_url, facts.station_id),
        title=i18n.text("alert.title", language, station=facts.station_name, kind=words),
        text="\n".join(lines),
    )
