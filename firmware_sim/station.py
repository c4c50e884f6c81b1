"""The hardware of one station, wired together."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from firmware_sim.camera import SimCamera
from firmware_sim.display import SimDisplay
from firmware_sim.door import SimDoor
from firmware_sim.exit_button import SimExitButton
from firmware_sim.lock import SimLock
from protocol.payloads import LockType


@dataclass
class SimStation:
    camera: SimCamera
    lock: SimLock
    door: SimDoor
    exit_button: SimExitButton
    display: SimDisplay
    # One person at the doorway at a time: the camera sees one phone.
    doorway: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def build(seed: int | None = None, lock_type: LockType = LockType.FAIL_SECURE) -> SimStation:
        lock = SimLock(lock_type)
        return SimStation(
            camera=SimCamera(seed),
            lock=lock,
            door=SimDoor(lock),
            exit_button=SimExitButton(),
            display=SimDisplay(),
        )
