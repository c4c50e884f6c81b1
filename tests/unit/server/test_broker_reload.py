"""The reload signaller: every change signalled at once and once more after it settles
(server/broker/reload.py says why Mosquitto needs the second)."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import ValidationError

from server.broker.reload import Reloader
from server.core.settings import ServerSettings
from tests.support.waiting import stays, wait_for

SETTLE_S = 0.05


class Signals:
    """A stand-in for SIGHUP: when each signal was sent."""

    def __init__(self, answer: bool = True) -> None:
        self.at: list[float] = []
        self.answer = answer
        self.fail_next = False
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        with self._lock:
            self.at.append(time.monotonic())
            if self.fail_next:
                self.fail_next = False
                raise OSError("no such process")
        return self.answer

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.at)


def test_a_change_is_signalled_at_once_and_once_more_after_it_settles() -> None:
    signals = Signals()
    reloader = Reloader(signals, settle_s=SETTLE_S)
    asked = time.monotonic()
    assert reloader.request() is True
    assert signals.count == 1  # before request() returned
    wait_for(lambda: signals.count == 2, timeout_s=2, what="the trailing signal")
    assert signals.at[1] - asked >= SETTLE_S
    assert stays(lambda: signals.count > 2, for_s=4 * SETTLE_S)  # and nothing after it
    assert not reloader.pending
    reloader.stop()


def test_a_burst_gets_one_trailing_signal_after_its_last_change() -> None:
    signals = Signals()
    reloader = Reloader(signals, settle_s=0.2)
    for index in range(5):
        if index:
            time.sleep(0.05)  # each change well inside the previous one's settling time
        reloader.request()
    last = signals.at[-1]
    assert signals.count == 5
    assert reloader.pending
    wait_for(lambda: signals.count == 6, timeout_s=2, what="the trailing signal")
    assert signals.at[5] - last >= 0.2  # settled after the last change, not the first
    assert stays(lambda: signals.count > 6, for_s=0.4)
    reloader.stop()


def test_no_broker_to_signal_is_reported_and_the_trailing_signal_still_tried() -> None:
    signals = Signals(answer=False)
    reloader = Reloader(signals, settle_s=SETTLE_S)
    assert reloader.request() is False
    wait_for(lambda: signals.count == 2, timeout_s=2, what="the trailing signal")
    reloader.stop()


def test_a_failed_trailing_signal_does_not_end_the_signaller() -> None:
    signals = Signals()
    reloader = Reloader(signals, settle_s=SETTLE_S)
    reloader.request()
    signals.fail_next = True  # the trailing one raises
    wait_for(lambda: signals.count == 2, timeout_s=2, what="the failing trailing signal")
    reloader.request()
    wait_for(lambda: signals.count == 4, timeout_s=2, what="the next trailing signal")
    reloader.stop()


def test_stop_drops_a_pending_trailing_signal_and_later_requests_signal_only_once() -> None:
    signals = Signals()
    reloader = Reloader(signals, settle_s=0.2)
    reloader.request()
    reloader.stop()
    assert not reloader.pending
    assert stays(lambda: signals.count > 1, for_s=0.4)
    reloader.request()  # after stop (shutting down): the change is still signalled
    assert signals.count == 2
    assert stays(lambda: signals.count > 2, for_s=0.4)


@pytest.mark.parametrize("settle_s", [0.0, -1.0])
def test_a_settling_time_that_is_not_positive_is_refused(settle_s: float) -> None:
    with pytest.raises(ValueError, match="settle_s must be positive"):
        Reloader(Signals(), settle_s=settle_s)


@pytest.mark.parametrize("value", [0, -1, 61, "soon"])
def test_a_bad_settling_time_setting_is_refused_by_name(value: object) -> None:
    with pytest.raises(ValidationError, match="broker_reload_settle_s"):
        ServerSettings(broker_reload_settle_s=value)
