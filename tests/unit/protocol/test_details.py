"""The detail lines of alarms and command outcomes: each shape reads back as itself with its
values, a command's free-text reason cannot pass for another shape, a line in no shape reads
as none, and the station agent writes its lines in these shapes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.details import MAX_LINE, TEMPLATES, Shape, fields, read, write
from protocol.payloads import Passage, StationEvent
from station_agent.core import door

SAMPLES: dict[Shape, dict[str, object]] = {
    Shape.FORCED_OPEN: {},
    Shape.TAILGATE: {"passage": "entry"},
    Shape.HELD_OPEN: {"seconds": 60.0},
    Shape.CONTACT_FAULT: {"changes": 10, "seconds": 5.0},
    Shape.CAMERA_TROUBLE: {"camera": "covered", "seconds": 30.0},
    Shape.OFFLINE: {"since": "2026-11-29 19:35", "cause": "heartbeat_missed", "minutes": 12},
    Shape.WELFARE: {"cause": "cold", "hours": "2.5"},
    Shape.COMMAND_DONE: {"command": "remote_unlock", "by": "admin", "reason": "手机坏了: 帮开门"},
    Shape.COMMAND_REFUSED: {"command": "lockdown", "refusal": "station in lockdown"},
}


def test_every_shape_has_a_sample() -> None:
    assert set(SAMPLES) == set(Shape) == set(TEMPLATES)


@pytest.mark.parametrize("shape", list(Shape))
def test_each_shape_reads_back(shape: Shape) -> None:
    line = write(shape, **SAMPLES[shape])
    found = read(line)
    assert found is not None
    assert found[0] is shape
    assert set(found[1]) == fields(shape)


def test_numbers_are_written_plainly() -> None:
    assert write(Shape.HELD_OPEN, seconds=60.0) == "open for 60 s"
    assert write(Shape.HELD_OPEN, seconds=2.5) == "open for 2.5 s"
    assert read("open for 60 s") == (Shape.HELD_OPEN, {"seconds": "60"})


def test_lines_written_before_the_shapes_existed_still_read() -> None:
    assert read("remote_unlock by staff-wang: test") == (
        Shape.COMMAND_DONE,
        {"command": "remote_unlock", "by": "staff-wang", "reason": "test"},
    )
    assert read("remote_unlock: station in lockdown") == (
        Shape.COMMAND_REFUSED,
        {"command": "remote_unlock", "refusal": "station in lockdown"},
    )
    assert read("offline since 2026-11-29 19:35 (link lost), 15 min") == (
        Shape.OFFLINE,
        {"since": "2026-11-29 19:35", "cause": "link lost", "minutes": "15"},
    )


@given(st.text(min_size=1, max_size=150).filter(lambda s: s.strip() == s and s))
def test_a_reason_never_passes_for_another_shape(reason: str) -> None:
    line = write(Shape.COMMAND_DONE, command="remote_unlock", by="admin", reason=reason)
    assert read(line) == (
        Shape.COMMAND_DONE,
        {"command": "remote_unlock", "by": "admin", "reason": reason},
    )


@pytest.mark.parametrize(
    "line", ["", "door fell off", "open for ever", "camera covered for 30", "x: y z 1"]
)
def test_a_line_in_no_shape_reads_as_none(line: str) -> None:
    assert read(line) is None


def test_writing_wrong_values_is_refused() -> None:
    with pytest.raises(ValueError, match="held_open takes"):
        write(Shape.HELD_OPEN, minutes=3)
    with pytest.raises(ValueError, match="forced_open takes"):
        write(Shape.FORCED_OPEN, seconds=1)


def test_a_long_reason_is_cut_to_fit_an_event() -> None:
    reason = "很" * 200  # as long as a command's reason may be
    line = write(Shape.COMMAND_DONE, command="lockdown_release", by="admin", reason=reason)
    assert len(line) == MAX_LINE
    found = read(line)
    assert found is not None
    assert found[0] is Shape.COMMAND_DONE
    assert found[1]["reason"].endswith("很…")
    StationEvent.model_validate(  # the station's event takes it (it did not, before)
        {
            "event_id": "0" * 32,
            "station_id": "st-1",
            "epoch": "0123456789abcdef",
            "seq": 1,
            "kind": "command_done",
            "occurred_at": "2026-11-29T12:00:00Z",
            "detail": line,
        }
    )


def test_a_user_name_with_a_space_makes_a_line_shown_as_it_is() -> None:
    line = write(Shape.COMMAND_DONE, command="remote_unlock", by="Wang Li", reason="r")
    assert line == "remote_unlock by Wang Li: r"
    assert read(line) is None


def test_the_agent_writes_its_alarms_in_these_shapes() -> None:
    forced = door.door_changed(door.DoorState(), is_open=True, now=10)
    held = door.tick(
        door.door_changed(
            door.release(door.DoorState(), now=0, passage=Passage.ENTRY).state, is_open=True, now=1
        ).state,
        now=61,
    )
    assert [read(a.detail) for a in (*forced.alarms_raised, *held.alarms_raised)] == [
        (Shape.FORCED_OPEN, {}),
        (Shape.HELD_OPEN, {"seconds": "60"}),
    ]
