"""What a staff change of a station's rules or mode sets on the station row, and what it
refuses: pure functions over the request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.payloads import StationMode
from server.access.policy import Emergency
from server.core.errors import ErrorCode, InvalidError
from server.stations.models import Station, StationRulesUpdate
from server.stations.rules import audit_values, mode_of, mode_update, rules_update

WEEK = {"weekly": [["08:00", "22:00"]] * 7}


def _change(**fields: Any) -> StationRulesUpdate:
    return StationRulesUpdate.model_validate({"reason": "test", **fields})


def test_a_rules_change_sets_only_what_it_names() -> None:
    assert rules_update(_change(capacity=12)) == {"capacity": 12}
    assert rules_update(_change(opening_hours=WEEK, emergency="typhoon")) == {
        "opening_hours": json.dumps(WEEK),
        "emergency": "typhoon",
    }
    assert rules_update(_change(open_all_day=True, end_emergency=True, passback="enforce")) == {
        "opening_hours": None,
        "emergency": None,
        "passback": "enforce",
    }


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"opening_hours": WEEK, "open_all_day": True}, ErrorCode.HOURS_OR_ALL_DAY),
        ({"emergency": "typhoon", "end_emergency": True}, ErrorCode.EMERGENCY_OR_END),
        ({"opening_hours": {"weekly": [None] * 6}}, ErrorCode.HOURS_WEEKLY),
        ({"opening_hours": {"weekly": [["8 am", "22:00"]] * 7}}, ErrorCode.HOURS_TIME),
        ({"opening_hours": {"weekly": [["08:00"]] * 7}}, ErrorCode.HOURS_SPAN),
        (
            {"opening_hours": {"weekly": [None] * 7, "holidays": {"soon": None}}},
            ErrorCode.HOURS_HOLIDAY_DATE,
        ),
        ({"opening_hours": {"weekly": [None] * 7, "lunch": None}}, ErrorCode.HOURS_UNKNOWN_KEYS),
    ],
)
def test_bad_rules_are_refused_naming_what_is_wrong(
    fields: dict[str, Any], code: ErrorCode
) -> None:
    with pytest.raises(InvalidError) as refused:
        rules_update(_change(**fields))
    assert refused.value.code is code


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_a_blank_reason_is_no_reason(reason: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        StationRulesUpdate.model_validate({"capacity": 3, "reason": reason})


def test_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        _change(capacity=0)


@given(
    st.sampled_from(StationMode),
    st.sampled_from([None, *Emergency]),
    st.booleans(),
    st.sampled_from([None, *Emergency]),
)
def test_set_mode_makes_the_station_give_that_mode(
    mode: StationMode, emergency: Emergency | None, maintenance: bool, before: Emergency | None
) -> None:
    station = Station(
        id="st-1",
        name="s",
        capacity=4,
        maintenance=maintenance,
        emergency=before.value if before else None,
    )
    if (mode is StationMode.FREE_ENTRY) != (emergency is not None):
        with pytest.raises(InvalidError) as refused:
            mode_update(mode, emergency)
        assert refused.value.code in {
            ErrorCode.FREE_ENTRY_NEEDS_CAUSE,
            ErrorCode.EMERGENCY_ONLY_WITH_FREE_ENTRY,
        }
        return
    for name, value in mode_update(mode, emergency).items():
        setattr(station, name, value)
    assert mode_of(station) is mode
    assert station.emergency == (emergency.value if emergency else None)


def test_audit_values_keep_the_hours_as_an_object() -> None:
    station = Station(id="st-1", name="s", capacity=4, opening_hours=json.dumps(WEEK))
    assert audit_values(station, ["opening_hours", "capacity"]) == {
        "opening_hours": WEEK,
        "capacity": 4,
    }
    station.opening_hours = None
    assert audit_values(station, ["opening_hours"]) == {"opening_hours": None}
