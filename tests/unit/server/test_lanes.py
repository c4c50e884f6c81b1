"""The consumer's lanes: bounded, never blocking the producer, shedding what does not fit,
and a request that waited past its answer's lifetime is recognised as stale."""

from __future__ import annotations

from server.mqtt.lanes import Lane, waited_too_long


def test_a_full_lane_refuses_at_once_and_keeps_what_it_has() -> None:
    lane: Lane[int] = Lane("test", capacity=3)
    assert [lane.offer(n) for n in range(5)] == [True, True, True, False, False]
    assert lane.depth() == 3
    first = lane.take()
    assert first is not None
    assert first.item == 0
    more, stopping = lane.take_more(10)
    assert [queued.item for queued in more] == [1, 2]
    assert not stopping
    assert lane.offer(9)  # room again


def test_take_more_stops_at_the_limit_and_at_close() -> None:
    lane: Lane[int] = Lane("test", capacity=10)
    for n in range(4):
        lane.offer(n)
    more, stopping = lane.take_more(2)
    assert [queued.item for queued in more] == [0, 1]
    assert not stopping
    lane.close()
    more, stopping = lane.take_more(10)
    assert [queued.item for queued in more] == [2, 3]
    assert stopping


def test_close_wakes_a_waiting_worker() -> None:
    lane: Lane[int] = Lane("test", capacity=1)
    lane.close()
    assert lane.take() is None


def test_stale_is_strictly_past_the_limit() -> None:
    assert not waited_too_long(100.0, 105.0, 5.0)
    assert waited_too_long(100.0, 105.01, 5.0)
