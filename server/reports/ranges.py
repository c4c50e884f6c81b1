"""The local days a report covers: read from what a person typed, checked, and the quick
ranges the reports page offers. Pure: today is passed in."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from server.core.errors import ErrorCode, InvalidError

MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 14


class ReportRangeError(InvalidError):
    """A report period a person got wrong: ``code`` says how, ``fields`` which dates."""

    def __init__(self, code: ErrorCode, *, fields: tuple[str, ...], **values: object) -> None:
        super().__init__(code, **values)
        self.fields = fields


class Preset(StrEnum):
    """A range one click away (the value is what the page's address carries)."""

    TODAY = "today"
    YESTERDAY = "yesterday"
    LAST_7_DAYS = "7d"
    LAST_30_DAYS = "30d"
    THIS_MONTH = "month"


def preset_days(preset: Preset, today: date) -> tuple[date, date]:
    """The first and last day of ``preset``; "the last N days" end today."""
    if preset is Preset.TODAY:
        return today, today
    if preset is Preset.YESTERDAY:
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if preset is Preset.LAST_7_DAYS:
        return today - timedelta(days=6), today
    if preset is Preset.LAST_30_DAYS:
        return today - timedelta(days=29), today
    return today.replace(day=1), today


def presets_of(first: date, last: date, today: date) -> set[Preset]:
    """The presets that are exactly these days, to show them as chosen (on the 1st, "today"
    is "this month" too)."""
    return {p for p in Preset if preset_days(p, today) == (first, last)}


def parse_day(text: str, field: str) -> date | None:
    """A date typed as 2026-11-28; blank: None (the default applies)."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReportRangeError(ErrorCode.BAD_DATE, fields=(field,), value=text) from None


def report_days(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """The local days a report covers: by default the last 14 up to today."""
    last = until or today
    first = since or last - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if first > last:
        raise ReportRangeError(ErrorCode.REPORT_RANGE_REVERSED, fields=("since", "until"))
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise ReportRangeError(
            ErrorCode.REPORT_RANGE_TOO_LONG, fields=("since", "until"), days=MAX_REPORT_DAYS
        )
    return first, last
