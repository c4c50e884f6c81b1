from __future__ import annotations

import random

import pytest

from firmware_sim.door import SimDoor
from firmware_sim.lock import SimLock
from mqttlink.link import LinkSettings, first_retry_delay
from protocol.payloads import LockType


def test_reconnects_after_a_broker_restart_spread_over_the_jitter_window() -> None:
    """Many stations losing the broker at once do not all come back in the same second."""
    settings = LinkSettings(reconnect_min_s=1.0, reconnect_jitter_s=3.0)
    rng = random.Random(4)
    delays = [first_retry_delay(settings, rng) for _ in range(1000)]
    assert min(delays) >= 1.0
    assert max(delays) <= 4.0
    per_second = [sum(1 for d in delays if s <= d < s + 1) for s in (1, 2, 3)]
    assert max(per_second) < 400  # about a third in each second, not all in one


@pytest.mark.parametrize(
    ("lock_type", "open_without_power"), [(LockType.FAIL_SECURE, False), (LockType.FAIL_SAFE, True)]
)
def test_power_loss_per_lock_type(lock_type: LockType, open_without_power: bool) -> None:
    lock = SimLock(lock_type)
    door = SimDoor(lock)
    lock.power_lost()
    lock.lock()  # the agent's command cannot hold a maglock without power
    assert lock.unlocked is open_without_power
    assert door.open() is open_without_power
    door.close()
    lock.power_restored()
    assert not lock.unlocked
    assert door.open(from_inside=True)  # free egress never depends on power or software
