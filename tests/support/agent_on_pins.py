"""A whole station agent as its own process on the real adapters (``build_hardware``), its
settings from ``WS_AGENT_*``: run it with ``GPIOZERO_PIN_FACTORY=ws_files WS_PINS_DIR=<dir>``
and drive its door through ``firmware_sim.pins.PinBoard``. Prints one JSON line when ready
(with the screen's address); SIGTERM stops it cleanly.

    python -m tests.support.agent_on_pins
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from types import FrameType

from station_agent.adapters.display_web import WebDisplay
from station_agent.adapters.hardware import Displays, build_hardware
from station_agent.config import AgentSettings
from station_agent.runtime import build_agent


def main() -> int:
    settings = AgentSettings()  # type: ignore[call-arg]  # from the environment
    hardware = build_hardware(settings)
    agent, _ = build_agent(settings, hardware, time.time)

    def stop(signum: int, frame: FrameType | None) -> None:
        agent.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    screens = [
        d.url
        for d in (hardware.display.displays if isinstance(hardware.display, Displays) else ())
        if isinstance(d, WebDisplay)
    ]
    runner = threading.Thread(target=agent.run, name="agent")
    runner.start()
    print(json.dumps({"ready": True, "screen": screens[0] if screens else None}), flush=True)
    while runner.is_alive():
        runner.join(0.1)  # the main thread stays free for the signal handler
    return 0


if __name__ == "__main__":
    sys.exit(main())
