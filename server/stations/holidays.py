"""China's public holidays and adjusted working days (调休), from the maintained
``chinese-calendar`` package (its data is updated each year when the State Council publishes
the next year's arrangement: keep the package current). The edge of the pure opening-hours
rule: the calendar is read here and handed to ``server.access.policy`` as data."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from functools import cache

import chinese_calendar

from server.access.policy import DayKind

log = logging.getLogger(__name__)


@cache
def china_days() -> Mapping[date, DayKind]:
    """Every public holiday and adjusted working day the package knows (a few hundred dates;
    read once)."""
    days: dict[date, DayKind] = dict.fromkeys(chinese_calendar.holidays, DayKind.PUBLIC_HOLIDAY)
    days.update(dict.fromkeys(chinese_calendar.workdays, DayKind.ADJUSTED_WORKDAY))
    return days


def covered_through() -> int:
    """The last year the calendar knows; later years fall back to weekly hours."""
    return max(day.year for day in china_days())


def warn_if_stale(today: date) -> bool:
    """Log once a start when this year is beyond the calendar (upgrade the package)."""
    if today.year <= covered_through():
        return False
    log.warning(
        "the holiday calendar ends in %d: upgrade chinese-calendar; until then holidays of %d "
        "use weekly hours",
        covered_through(),
        today.year,
    )
    return True
