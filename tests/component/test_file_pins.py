"""firmware_sim's file-backed pin factory: in this process, in a plain gpiozero process, and
under a whole station agent process whose door a test works from outside."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gpiozero import Device

from firmware_sim.pins import DIR_ENV, ENTRY_POINT, FilePinFactory, PinBoard
from firmware_sim.video import write_door_video
from protocol.payloads import EventKind, LockType, Passage, StationEvent, parse
from station_agent.adapters.gpio import GpioDoorSensor, GpioExitButton, GpioLock
from station_agent.adapters.store_sqlite import AgentStore
from tests.support.waiting import wait_for
from tests.unit.station_agent.rig import CONTROL, STATION_KEY

LOCK, DOOR, EXIT = 18, 17, 27
ROOT = Path(__file__).parents[2]


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[FilePinFactory]:
    made = FilePinFactory(tmp_path / "pins")
    yield made
    made.close()


@pytest.mark.parametrize(
    ("lock_type", "at_rest"), [(LockType.FAIL_SECURE, False), (LockType.FAIL_SAFE, True)]
)
def test_outputs_are_written_with_their_history(
    factory: FilePinFactory, lock_type: LockType, at_rest: bool
) -> None:
    board = PinBoard(factory.directory)
    lock = GpioLock(LOCK, lock_type=lock_type, pin_factory=factory)
    assert board.output(LOCK) is at_rest
    lock.unlock()
    assert board.output(LOCK) is (not at_rest)
    lock.lock()
    lock.close()
    assert board.output(LOCK) is None  # let go
    states = [state for _, state in board.history(LOCK)]
    assert states == ["1", "0", "1", "z"] if at_rest else ["0", "1", "0", "z"]
    (span,) = board.on_spans(LOCK)[:1] if not at_rest else board.on_spans(LOCK)[1:2]
    assert span[1] is not None
    assert span[1] >= span[0]


def test_inputs_follow_their_files(factory: FilePinFactory) -> None:
    board = PinBoard(factory.directory)
    board.set_input(DOOR, False)  # written before the pin exists: wins over the pull-up
    door = GpioDoorSensor(DOOR, pin_factory=factory)
    button = GpioExitButton(EXIT, pin_factory=factory)
    assert not door.is_open
    seen: list[object] = []
    door.subscribe(seen.append)
    button.subscribe(lambda: seen.append("pressed"))
    board.set_input(DOOR, True)
    wait_for(lambda: seen == [True], timeout_s=2)
    board.set_input(EXIT, False)
    wait_for(lambda: seen == [True, "pressed"], timeout_s=2)
    board.set_input(EXIT, True)
    board.set_input(DOOR, False)
    wait_for(lambda: seen == [True, "pressed", False], timeout_s=2)
    door.close()
    button.close()


def test_gpiozero_finds_it_by_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", ENTRY_POINT)
    monkeypatch.setenv(DIR_ENV, str(tmp_path / "pins"))
    found = Device._default_pin_factory()
    try:
        assert isinstance(found, FilePinFactory)
        assert found.directory == tmp_path / "pins"
    finally:
        found.close()
    monkeypatch.delenv(DIR_ENV)
    with pytest.raises(ValueError, match=DIR_ENV):
        FilePinFactory()


CHILD = """
import sys, time
from gpiozero import Button, LED
led, button = LED(18), Button(27)
button.when_pressed = led.on
button.when_released = led.off
print("ready", flush=True)
sys.stdin.readline()
"""


def test_a_plain_gpiozero_process_is_driven_from_outside(tmp_path: Path) -> None:
    """No project import in the child: gpiozero alone picks the factory from the environment."""
    board = PinBoard(tmp_path / "pins")
    env = os.environ | {"GPIOZERO_PIN_FACTORY": ENTRY_POINT, DIR_ENV: str(board.directory)}
    with subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as child:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline() == b"ready\n"
        assert board.output(18) is False
        board.set_input(27, False)  # pressed (to ground, pulled up)
        assert board.wait_output(18, True, timeout_s=3)
        board.set_input(27, True)
        assert board.wait_output(18, False, timeout_s=3)
        child.stdin.close()
        assert child.wait(10) == 0
    assert board.output(18) is None  # the process let its pins go at exit


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_station_agent_process_works_its_door_through_the_files(tmp_path: Path) -> None:
    """The real agent on build_hardware, offline (no broker): the exit button releases the
    strike for unlock_s, a passage relocks it at once, and the outbox records it all."""
    board = PinBoard(tmp_path / "pins")
    board.set_input(DOOR, False)  # closed
    board.set_input(EXIT, True)  # not pressed
    video = write_door_video(tmp_path / "door.avi", None, frames=20, fps=10)
    data_dir = tmp_path / "agent"
    env = os.environ | {
        "GPIOZERO_PIN_FACTORY": ENTRY_POINT,
        DIR_ENV: str(board.directory),
        "WS_AGENT_STATION_ID": "station-pins",
        "WS_AGENT_CONTROL_KEYS": json.dumps({CONTROL.kid: CONTROL.public_key_text}),
        "WS_AGENT_STATION_KEY": STATION_KEY.to_text(),
        "WS_AGENT_DATA_DIR": str(data_dir),
        "WS_AGENT_BROKER_PORT": str(_free_port()),  # nobody there: the station is offline
        "WS_AGENT_UNLOCK_S": "0.6",
        "WS_AGENT_DOOR_DEBOUNCE_S": "0.05",
        "WS_AGENT_SHUTDOWN_FLUSH_S": "0",
        "WS_AGENT_HARDWARE__LOCK_PIN": str(LOCK),
        "WS_AGENT_HARDWARE__DOOR_PIN": str(DOOR),
        "WS_AGENT_HARDWARE__EXIT_PIN": str(EXIT),
        "WS_AGENT_HARDWARE__CAMERA_SOURCE": str(video),
        "WS_AGENT_HARDWARE__DISPLAY_PORT": "0",
    }
    out = tmp_path / "stdout.log"
    with out.open("w") as stdout, (tmp_path / "stderr.log").open("w") as stderr:
        agent = subprocess.Popen(
            [sys.executable, "-m", "tests.support.agent_on_pins"],
            env=env,
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        wait_for(lambda: '"ready": true' in out.read_text(), timeout_s=20)
        ready = json.loads(out.read_text().splitlines()[0])
        assert board.output(LOCK) is False  # a strike, locked

        board.set_input(EXIT, False)
        time.sleep(0.05)
        board.set_input(EXIT, True)
        assert board.wait_output(LOCK, True, timeout_s=3)
        assert board.wait_output(LOCK, False, timeout_s=3)
        (released,) = board.on_spans(LOCK)
        assert released[1] is not None
        assert 0.5 <= released[1] - released[0] <= 1.5  # unlock_s, nobody passed

        board.set_input(EXIT, False)
        time.sleep(0.05)
        board.set_input(EXIT, True)
        assert board.wait_output(LOCK, True, timeout_s=3)
        board.set_input(DOOR, True)  # out through the door ...
        time.sleep(0.2)
        board.set_input(DOOR, False)  # ... and it closes: relocked at once
        assert board.wait_output(LOCK, False, timeout_s=3)

        screen = httpx.get(ready["screen"] + "state.json", timeout=5).json()
        assert (screen["kind"], screen["station"]) == ("idle", "station-pins")
    finally:
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(15)
    assert code == 0, (tmp_path / "stderr.log").read_text()
    assert board.output(LOCK) is None  # released at exit

    store = AgentStore(data_dir / "agent.db")
    events = [parse(StationEvent, payload) for _, payload in store.pending()]
    store.close()
    kinds = [(e.kind, e.passage) for e in events if e.kind is not EventKind.ALARM_RAISED]
    assert kinds == [
        (EventKind.EXIT_PRESSED, None),
        (EventKind.EXIT_PRESSED, None),
        (EventKind.DOOR_OPENED, Passage.EXIT),
        (EventKind.DOOR_CLOSED, None),
    ]
