"""What a rider does at the door: hold up the phone, watch the light, walk through; leave by
the exit button. Timings are compressed so that a demo shows many visits a minute."""

from __future__ import annotations

import random
from collections.abc import Callable

from firmware_sim.display import Shown
from firmware_sim.station import SimStation

Pause = Callable[[float], object]


def enter(
    station: SimStation,
    screen_png: bytes,
    rng: random.Random,
    pause: Pause,
    *,
    wait_s: float = 4.0,
) -> Shown | None:
    """Show the code and walk in when admitted; what the door showed, or None if nothing."""
    with station.doorway:
        before = station.display.count
        station.camera.present(screen_png)
        try:
            shown = station.display.wait_next(before, wait_s)
        finally:
            station.camera.withdraw()
        if shown is None or not shown.allowed:
            return shown
        if station.door.open():
            pause(rng.uniform(0.4, 1.0))
            station.door.close()
        return shown


def leave(station: SimStation, rng: random.Random, pause: Pause) -> None:
    """Press the exit button and walk out; the door opens from inside whatever the lock does."""
    with station.doorway:
        station.exit_button.press()
        station.lock.wait_unlocked(1.0)
        station.door.open(from_inside=True)
        pause(rng.uniform(0.4, 1.0))
        station.door.close()
