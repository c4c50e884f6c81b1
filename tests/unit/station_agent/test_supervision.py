"""systemd supervision: READY once running, WATCHDOG from the loop's turns (throttled),
STOPPING on the way out; nothing at all when not under systemd."""

from __future__ import annotations

import socket
from pathlib import Path

from station_agent.adapters.systemd import SystemdNotifier
from tests.unit.station_agent.rig import Rig


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def ready(self) -> None:
        self.calls.append("ready")

    def alive(self) -> None:
        self.calls.append("alive")

    def stopping(self) -> None:
        self.calls.append("stopping")


def test_the_loop_says_alive_on_every_turn() -> None:
    rig = Rig.build()
    recorder = Recorder()
    rig.agent._supervisor = recorder
    rig.turn(0.1)
    rig.turn(0.1)
    assert recorder.calls == ["alive", "alive"]


def test_notifications_reach_the_socket_and_the_watchdog_is_throttled(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(1)
        notifier = SystemdNotifier(path, every_s=60)
        assert notifier.enabled
        notifier.ready()
        notifier.alive()
        notifier.alive()  # within the minute: not sent again
        notifier.stopping()
        got = [server.recv(100).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=running", "WATCHDOG=1", "STOPPING=1"]


def test_without_systemd_nothing_is_sent() -> None:
    notifier = SystemdNotifier("")
    assert not notifier.enabled
    assert notifier.notify("READY=1") is False
