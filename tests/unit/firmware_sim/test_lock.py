"""The simulated lock: what each lock type does without power."""

from __future__ import annotations

import pytest

from firmware_sim.door import SimDoor
from firmware_sim.lock import SimLock
from protocol.payloads import LockType


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
