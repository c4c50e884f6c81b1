"""A station box end to end: ``python -m station_agent run`` as a process, enrolled from its
bundle, its GPIO pins in files (firmware_sim/pins.py, selected by gpiozero's pin factory entry
point, so the agent runs its real gpiozero adapters), its camera a video file of a phone
showing a rider's code, against a real Mosquitto (TLS, the station's own account) and a real
server. Then ``check`` on the same box."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from demo.processes import spawn, stop
from firmware_sim.phone import render_qr_png
from firmware_sim.pins import DIR_ENV, ENTRY_POINT, PinBoard
from firmware_sim.video import write_door_video
from protocol.payloads import ProvisioningBundle
from server.alarms.models import Alarm
from tests.support.stack import ServerHarness, unique_station_id
from tests.support.waiting import wait_for

LOCK, DOOR, EXIT = 17, 27, 22
UNLOCK_S = 1.5

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, video: Path) -> Path:
    config = tmp_path / "agent.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "state"}"
frame_interval_s = 0.05
unlock_s = {UNLOCK_S}
camera_trouble_s = 1.0
decision_timeout_s = 2.0
heartbeat_s = 1.0

[hardware]
camera_source = "{video}"
camera_retry_s = 0.2
camera_retry_max_s = 0.5
lock_pin = {LOCK}
door_pin = {DOOR}
exit_pin = {EXIT}
display_port = 0
"""
    )
    return config


def _env(pins: Path) -> dict[str, str]:
    return {**os.environ, "GPIOZERO_PIN_FACTORY": ENTRY_POINT, DIR_ENV: str(pins)}


def _agent(config: Path, pins: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "station_agent", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=_env(pins),
        check=False,
    )


@pytest.fixture
def box(server: ServerHarness, tmp_path: Path) -> tuple[ProvisioningBundle, Path, Path]:
    """A provisioned, enrolled box whose door is closed; its settings file and pin folder."""
    bundle = server.add_station(unique_station_id())
    (tmp_path / "bundle.json").write_text(bundle.model_dump_json())
    pins = tmp_path / "pins"
    board = PinBoard(pins)
    board.set_input(DOOR, False)  # closed: the reed contact pulls the pin low
    board.set_input(EXIT, True)  # released: the pull-up
    video = tmp_path / "door.avi"
    write_door_video(video, None, frames=20)
    config = _config(tmp_path, video)
    enrolled = _agent(config, pins, "enrol", str(tmp_path / "bundle.json"))
    assert enrolled.returncode == 0, enrolled.stderr
    return bundle, config, pins


def _alarms(server: ServerHarness, station_id: str) -> list[Alarm]:
    from sqlmodel import Session, select

    with Session(server.services.engine) as session:
        return list(session.exec(select(Alarm).where(Alarm.station_id == station_id)))


def test_a_rider_enters_through_the_real_agent_process(
    server: ServerHarness, box: tuple[ProvisioningBundle, Path, Path], tmp_path: Path
) -> None:
    bundle, config, pins = box
    station_id = bundle.station_id
    board = PinBoard(pins)
    rider_id, link = server.enrol()
    video = tmp_path / "door.avi"
    write_door_video(video, render_qr_png(server.token(link)), frames=40, empty_frames=5)

    log = (tmp_path / "agent.log").open("wb")
    process = spawn(
        [sys.executable, "-m", "station_agent", "--config", str(config), "run"],
        log=log,
        env=_env(pins),
    )
    try:
        wait_for(lambda: server.station(station_id).online, timeout_s=20, what="the box online")
        # The camera reads the code: the relay pin goes active, and stays so until the door
        # has opened and closed (or the unlock time ends).
        wait_for(lambda: board.output(LOCK) is True, timeout_s=15, what="the relay released")
        board.set_input(DOOR, True)  # the rider opens the door...
        wait_for(lambda: server.station(station_id).occupancy == 1, what="the entry counted")
        board.set_input(DOOR, False)  # ...and it closes behind them
        wait_for(lambda: board.output(LOCK) is False, what="the relay back to locked")
        [(start, end)] = board.on_spans(LOCK)
        assert end is not None
        assert end - start <= UNLOCK_S + 1.0
        wait_for(
            lambda: (
                [e.kind for e in server.events(station_id)][:3]
                == ["access_granted", "door_opened", "door_closed"]
            ),
            what="the grant, the opening and the closing stored at the server",
        )
        assert server.events(station_id)[1].rider_id == rider_id

        # The video ends and cannot be opened again: camera trouble, raised at the server...
        shutil.move(video, tmp_path / "gone.avi")
        [alarm] = wait_for(
            lambda: _alarms(server, station_id), timeout_s=15, what="the camera alarm"
        )
        assert (alarm.kind, alarm.cleared_at) == ("camera_tamper", None)
        # ...and cleared when frames come back.
        write_door_video(video, None, frames=100)
        wait_for(
            lambda: _alarms(server, station_id)[0].cleared_at is not None,
            timeout_s=15,
            what="the camera alarm cleared",
        )
    finally:
        code = stop(process, 15.0)
        log.close()
    assert code in (0, -15), (tmp_path / "agent.log").read_text()[-2000:]
    assert board.output(LOCK) in (False, None)  # locked (or released) on the way out


def test_check_passes_on_the_box_and_names_what_fails(
    box: tuple[ProvisioningBundle, Path, Path], tmp_path: Path
) -> None:
    _, config, pins = box
    board = PinBoard(pins)
    good = _agent(config, pins, "check", "--wait-s", "0.5")
    lines = good.stdout.splitlines()[1:]
    parts = {line.split()[1]: line.split()[0] for line in lines if line.startswith(("OK", "FAIL"))}
    assert parts["store"] == parts["broker"] == parts["camera"] == parts["relay"] == "OK"
    states = [state for _, state in board.history(LOCK)]
    assert "1" in states  # it clicked: released...
    assert "0" in states[states.index("1") :]  # ...and locked again
    # Nobody at the door in the test: the door and button lines say what to do.
    assert parts["door"] == "FAIL"
    assert "check its wiring" in good.stdout

    no_relay = config.read_text().replace(f"lock_pin = {LOCK}\n", "")
    config.write_text(no_relay)
    unset = _agent(config, pins, "check", "--wait-s", "0.5")
    assert unset.returncode == 1
    [relay] = [line for line in unset.stdout.splitlines() if " relay " in f" {line} "]
    assert relay.startswith("FAIL")
    assert "hardware.lock_pin is not set" in relay
