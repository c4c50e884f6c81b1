"""The live feed's bookkeeping (no I/O): which rows a stream has not seen yet."""

from __future__ import annotations

from server.reports.live import FeedState
from server.reports.models import StationCounts, StationRow


def _row(station_id: str, occupancy: int = 0) -> StationRow:
    return StationRow(
        id=station_id,
        name=station_id,
        capacity=10,
        soft_limit=0.8,
        occupancy=occupancy,
        online=True,
        online_changed_at=None,
        door_phase="locked",
        lockdown=False,
        maintenance=False,
        active_alarms=0,
        last_entry_at=None,
    )


def test_a_stream_gets_its_rows_then_only_what_changed() -> None:
    state = FeedState()
    state.watch(["a", "b"])
    assert state.unread(["a"])
    state.apply([_row("a"), _row("b")])
    assert not state.unread(["a", "b"])
    assert state.changed_since(["a", "b"], 0) == [_row("a"), _row("b")]
    seen = state.polls
    state.apply([_row("a"), _row("b", occupancy=3)])
    assert state.changed_since(["a", "b"], seen) == [_row("b", occupancy=3)]
    assert state.changed_since(["a"], seen) == []  # another page's change is not sent
    seen = state.polls
    state.apply([_row("a")])  # b is gone (deleted): nothing to send, nothing unread
    assert state.changed_since(["a", "b"], seen) == []
    assert not state.unread(["b"])


def test_rows_are_kept_while_some_stream_watches_them() -> None:
    state = FeedState()
    state.watch(["a", "b"])
    state.watch(["b"])
    state.apply([_row("a"), _row("b")])
    state.unwatch(["a", "b"])
    assert (dict(state.watched), list(state.rows)) == ({"b": 1}, ["b"])
    state.unwatch(["b"])
    assert (dict(state.watched), state.rows) == ({}, {})


def test_counts_are_sent_when_they_change() -> None:
    counts = StationCounts(
        stations=2,
        stations_online=2,
        stations_offline=0,
        stations_with_alarms=0,
        alarms_open=0,
        stations_full=0,
        stations_nearly_full=0,
        stations_lockdown=0,
        stations_maintenance=0,
        occupancy=0,
    )
    state = FeedState()
    state.apply([], counts)
    assert (state.counts, state.counts_changed_in) == (counts, 1)
    state.apply([], counts.model_copy())
    assert state.counts_changed_in == 1  # the same counts: not sent again
    state.apply([], None)  # a poll without a recount keeps the last counts
    assert state.counts == counts
    fuller = counts.model_copy(update={"occupancy": 4})
    state.apply([], fuller)
    assert (state.counts, state.counts_changed_in) == (fuller, 4)
