"""A dependency lost and regained is news once each way, however often it is looked at."""

from __future__ import annotations

import logging

import pytest

from telemetry.edges import Change, Edge, Watch


def test_edge_reports_changes_only() -> None:
    edge = Edge()
    assert edge.see(True) is None  # up at the first look: no news
    assert edge.see(True) is None
    assert edge.see(False) is Change.LOST
    assert edge.see(False) is None
    assert edge.see(True) is Change.REGAINED
    assert edge.see(True) is None


def test_down_at_the_first_look_is_lost() -> None:
    assert Edge().see(False) is Change.LOST


def test_watch_logs_once_each_way(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    watch = Watch("database", logging.getLogger("test.watch"))
    watch.regained()
    for _ in range(5):
        watch.lost("unreachable")
    for _ in range(5):
        watch.regained()
    watch.lost()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "database lost: unreachable"),
        (logging.INFO, "database regained"),
        (logging.WARNING, "database lost"),
    ]
    assert watch.up is False
