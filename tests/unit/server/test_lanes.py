"""The consumer's lanes: bounded, never blocking the producer, shedding what does not fit,
and a request that waited past its answer's lifetime is recognised as stale."""

from __future__ import annotations

import threading

from server.mqtt.lanes import Lane, RidersFirst, WriteTurns, waited_too_long
from tests.support.waiting import wait_for


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


def test_lingering_takes_what_comes_and_returns_at_the_limit() -> None:
    lane: Lane[int] = Lane("test", capacity=10)
    lane.offer(0)
    later = threading.Thread(target=lambda: [lane.offer(n) for n in (1, 2, 3)])
    later.start()
    # A day's linger: the call returns only because the limit is reached.
    more, stopping = lane.take_more(4, linger_s=86_400)
    later.join()
    assert [queued.item for queued in more] == [0, 1, 2, 3]
    assert not stopping


def test_lingering_ends_at_close() -> None:
    lane: Lane[int] = Lane("test", capacity=10)
    lane.offer(0)
    closer = threading.Thread(target=lane.close)
    closer.start()
    more, stopping = lane.take_more(10, linger_s=86_400)
    closer.join()
    assert [queued.item for queued in more] == [0]
    assert stopping


def test_close_wakes_a_waiting_worker() -> None:
    lane: Lane[int] = Lane("test", capacity=1)
    lane.close()
    assert lane.take() is None


def test_stale_is_strictly_past_the_limit() -> None:
    assert not waited_too_long(100.0, 105.0, 5.0)
    assert waited_too_long(100.0, 105.01, 5.0)


def test_a_waiting_decision_writes_before_the_next_batch() -> None:
    turns = WriteTurns()
    order: list[str] = []

    def urgent() -> None:
        with turns.urgent():
            order.append("decision")

    def next_batch() -> None:
        with turns.bulk():
            order.append("next batch")

    with turns.bulk():
        waiting = threading.Thread(target=urgent)
        waiting.start()
        wait_for(lambda: turns.urgent_waiting == 1, what="the decision to wait")
        following = threading.Thread(target=next_batch)
        following.start()
    waiting.join(5)
    following.join(5)
    assert order == ["decision", "next batch"]


def test_bulk_work_waits_while_a_request_is_pending_and_goes_on_when_it_is_answered() -> None:
    gate = RidersFirst(max_pause_s=86_400)  # a day: only the answer can let it go
    gate.arrived()
    gate.arrived()
    stepped = threading.Event()
    bulk = threading.Thread(target=lambda: (gate.step_aside(), stepped.set()))
    bulk.start()
    gate.answered()
    assert not stepped.wait(0.05)  # one request is still pending
    gate.answered()
    assert stepped.wait(5)
    bulk.join(5)
    assert gate.pending == 0


def test_bulk_work_steps_aside_for_a_bounded_time_only() -> None:
    gate = RidersFirst(max_pause_s=0.01)
    gate.arrived()  # never answered: a flood of requests must not stop the bulk worker
    for _ in range(3):
        gate.step_aside()  # returns: the test would hang otherwise
    assert gate.pending == 1


def test_with_nothing_pending_bulk_work_does_not_wait() -> None:
    gate = RidersFirst(max_pause_s=86_400)
    gate.step_aside()
    gate.arrived()
    gate.answered()
    gate.step_aside()


def test_oldest_age_is_how_long_the_head_has_waited() -> None:
    now = [100.0]
    lane: Lane[str] = Lane("bulk", 10, lambda: now[0])
    assert lane.oldest_age() == 0.0
    lane.offer("first")
    now[0] = 102.0
    lane.offer("second")
    now[0] = 105.0
    assert lane.oldest_age() == 5.0
    lane.take()
    assert lane.oldest_age() == 3.0
    lane.take()
    assert lane.oldest_age() == 0.0
