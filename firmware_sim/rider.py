"""What a rider does at the door: hold up the phone, watch the light, walk through; leave by
the exit button. Timings are compressed so that a demo shows many visits a minute."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from firmware_sim.display import Shown
from firmware_sim.station import SimStation

Pause = Callable[[float], object]

# A person takes at least this long to pass a door, however fast the simulation runs: a door
# that opens and closes faster is contact bounce to the agent.
MIN_PASSAGE_S = 0.4


def _settled(station: SimStation) -> None:
    """Nobody reopens a door within a blink of it closing."""
    remaining = MIN_PASSAGE_S - (time.monotonic() - station.door.changed_at)
    if remaining > 0:
        time.sleep(remaining)


def _walk_through(station: SimStation, rng: random.Random, pause: Pause) -> None:
    started = time.monotonic()
    pause(rng.uniform(MIN_PASSAGE_S, 1.0))
    remaining = MIN_PASSAGE_S - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    station.door.close()


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
        _settled(station)
        if station.door.open():
            _walk_through(station, rng, pause)
        return shown


def leave(station: SimStation, rng: random.Random, pause: Pause) -> None:
    """Press the exit button and walk out; the door opens from inside whatever the lock does."""
    with station.doorway:
        station.exit_button.press()
        station.lock.wait_unlocked(1.0)
        _settled(station)
        station.door.open(from_inside=True)
        _walk_through(station, rng, pause)
