from dataclasses import replace

import pytest

from station_agent.core.readiness import NotReady, ReadinessFacts, ReadinessLimits, judge

HEALTHY = ReadinessFacts(
    store_ok=True,
    broker_connected=True,
    frame_age_s=0.1,
    frame_interval_s=0.1,
    camera_ok=True,
    outbox_depth=3,
    oldest_unsent_age_s=1.0,
)
LIMITS = ReadinessLimits(stalled_frames=20, min_stall_s=2.0, backlog_age_s=120, backlog_depth=1000)


def test_a_healthy_station_is_ready() -> None:
    verdict = judge(HEALTHY, LIMITS)
    assert verdict.ready
    assert verdict.codes == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"store_ok": False}, NotReady.STORE_ERROR),
        ({"broker_connected": False}, NotReady.BROKER_DOWN),
        ({"frame_age_s": 2.01}, NotReady.CAMERA_STALLED),
        ({"camera_ok": False}, NotReady.CAMERA_BLIND),
        ({"oldest_unsent_age_s": 120.5}, NotReady.OUTBOX_BACKLOG),
        ({"outbox_depth": 1001}, NotReady.OUTBOX_BACKLOG),
    ],
)
def test_each_reason_on_its_own(change: dict[str, object], reason: NotReady) -> None:
    verdict = judge(replace(HEALTHY, **change), LIMITS)  # type: ignore[arg-type]
    assert not verdict.ready
    assert verdict.reasons == (reason,)


def test_at_the_limits_it_is_still_ready() -> None:
    edge = replace(HEALTHY, frame_age_s=2.0, oldest_unsent_age_s=120.0, outbox_depth=1000)
    assert judge(edge, LIMITS).ready


def test_a_slow_camera_gets_more_time_before_it_counts_as_stalled() -> None:
    slow = replace(HEALTHY, frame_interval_s=1.0, frame_age_s=15.0)
    assert judge(slow, LIMITS).ready
    assert judge(replace(slow, frame_age_s=20.5), LIMITS).reasons == (NotReady.CAMERA_STALLED,)


def test_a_stalled_camera_is_not_also_called_blind() -> None:
    stalled = replace(HEALTHY, frame_age_s=60.0, camera_ok=False)
    assert judge(stalled, LIMITS).reasons == (NotReady.CAMERA_STALLED,)


def test_without_a_scan_loop_the_camera_is_not_judged() -> None:
    assert judge(replace(HEALTHY, frame_age_s=None, camera_ok=False), LIMITS).ready


def test_every_reason_at_once_in_a_fixed_order() -> None:
    broken = ReadinessFacts(
        store_ok=False,
        broker_connected=False,
        frame_age_s=None,
        frame_interval_s=0.1,
        camera_ok=True,
        outbox_depth=5000,
        oldest_unsent_age_s=None,
    )
    assert judge(broken, LIMITS).codes == ["store_error", "broker_down", "outbox_backlog"]
