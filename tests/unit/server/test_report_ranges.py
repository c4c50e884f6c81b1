"""The days a report covers: what a person typed, the checks (each with its code and the dates
at fault), and the quick ranges."""

from __future__ import annotations

from datetime import date

import pytest

import i18n
from server.core.errors import ErrorCode
from server.reports.ranges import (
    MAX_REPORT_DAYS,
    Preset,
    ReportRangeError,
    parse_day,
    preset_days,
    presets_of,
    report_days,
)

TODAY = date(2026, 11, 29)  # a Sunday


@pytest.mark.parametrize(
    ("preset", "days"),
    [
        (Preset.TODAY, (date(2026, 11, 29), date(2026, 11, 29))),
        (Preset.YESTERDAY, (date(2026, 11, 28), date(2026, 11, 28))),
        (Preset.LAST_7_DAYS, (date(2026, 11, 23), date(2026, 11, 29))),
        (Preset.LAST_30_DAYS, (date(2026, 10, 31), date(2026, 11, 29))),
        (Preset.THIS_MONTH, (date(2026, 11, 1), date(2026, 11, 29))),
    ],
)
def test_presets(preset: Preset, days: tuple[date, date]) -> None:
    assert preset_days(preset, TODAY) == days
    assert report_days(*days, TODAY) == days  # every preset is a valid range


def test_the_first_of_the_month_is_today_and_this_month() -> None:
    first = date(2026, 12, 1)
    assert preset_days(Preset.THIS_MONTH, first) == preset_days(Preset.TODAY, first)
    assert preset_days(Preset.YESTERDAY, first) == (date(2026, 11, 30), date(2026, 11, 30))
    assert presets_of(first, first, first) == {Preset.TODAY, Preset.THIS_MONTH}


def test_a_range_is_recognised_as_its_preset() -> None:
    assert presets_of(date(2026, 11, 23), TODAY, TODAY) == {Preset.LAST_7_DAYS}
    assert presets_of(date(2026, 11, 22), TODAY, TODAY) == set()
    end_of_june = date(2026, 6, 30)  # thirty days in June: the last 30 days are this month
    assert presets_of(date(2026, 6, 1), end_of_june, end_of_june) == {
        Preset.LAST_30_DAYS,
        Preset.THIS_MONTH,
    }


def test_every_preset_has_words() -> None:
    for language in i18n.LANGUAGES:
        for preset in Preset:
            assert i18n.text(f"page.preset_{preset.value}", language)


def test_typed_days() -> None:
    assert parse_day(" 2026-11-28 ", "since") == date(2026, 11, 28)
    assert parse_day("", "since") is None
    with pytest.raises(ReportRangeError) as caught:
        parse_day("2026-13-01", "until")
    assert (caught.value.code, caught.value.fields) == (ErrorCode.BAD_DATE, ("until",))
    assert caught.value.values == {"value": "2026-13-01"}
    assert str(caught.value) == "'2026-13-01' is not a date like 2026-11-28"


def test_default_is_the_last_fourteen_days() -> None:
    assert report_days(None, None, TODAY) == (date(2026, 11, 16), TODAY)
    assert report_days(None, date(2026, 11, 1), TODAY) == (date(2026, 10, 19), date(2026, 11, 1))


def test_bad_ranges_name_the_problem_and_both_dates() -> None:
    with pytest.raises(ReportRangeError) as reversed_:
        report_days(date(2026, 11, 5), date(2026, 11, 1), TODAY)
    assert reversed_.value.code is ErrorCode.REPORT_RANGE_REVERSED
    assert reversed_.value.fields == ("since", "until")
    assert str(reversed_.value) == "'since' must not be after 'until'"
    with pytest.raises(ReportRangeError) as too_long:
        report_days(date(2020, 1, 1), date(2026, 1, 1), TODAY)
    assert too_long.value.code is ErrorCode.REPORT_RANGE_TOO_LONG
    assert too_long.value.values == {"days": MAX_REPORT_DAYS}
    first = date(2025, 1, 1)
    assert report_days(first, date(2026, 1, 1), TODAY) == (first, date(2026, 1, 1))  # 366 days
