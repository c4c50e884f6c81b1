"""Readiness from what the probes saw: every way to be not ready, with its reason."""

from __future__ import annotations

from server.health.readiness import LaneLook, Looks, assess, lane_behind

UP = {"requests": True, "bulk": True}
QUIET = (LaneLook("access", 0, 100, 0.0), LaneLook("bulk", 5, 1000, 0.2))


def test_all_ok_is_ready() -> None:
    readiness = assess(Looks(None, UP, QUIET), max_queue_age_s=10)
    assert readiness.ready
    assert readiness.as_json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok", "consumer": "ok"},
    }


def test_database_unreachable() -> None:
    readiness = assess(Looks("unreachable (OperationalError)", UP, QUIET), max_queue_age_s=10)
    assert not readiness.ready
    assert readiness.checks["database"] == "unreachable (OperationalError)"
    assert readiness.as_json()["status"] == "not ready"


def test_a_link_down_is_named() -> None:
    readiness = assess(Looks(None, {"requests": True, "bulk": False}, QUIET), max_queue_age_s=10)
    assert not readiness.ready
    assert readiness.checks == {
        "database": "ok",
        "broker": "not connected: bulk link",
        "consumer": "ok",
    }


def test_a_lane_full_or_behind_is_not_keeping_up() -> None:
    full = LaneLook("access", 100, 100, 0.1)
    old = LaneLook("bulk", 3, 1000, 12.5)
    readiness = assess(Looks(None, UP, (full, old)), max_queue_age_s=10)
    assert not readiness.ready
    assert readiness.checks["consumer"] == (
        "access lane full (100 queued); bulk lane behind: oldest message waited 12.5 s"
    )


def test_lane_behind_boundaries() -> None:
    assert lane_behind(LaneLook("bulk", 99, 100, 10.0), max_age_s=10) is None
    assert lane_behind(LaneLook("bulk", 99, 100, 10.01), max_age_s=10) is not None
    assert lane_behind(LaneLook("bulk", 100, 100, 0.0), max_age_s=10) is not None
