"""``station_agent check``: a technician's self-test, one line per part, OK or FAIL with what
to do. ``--link`` skips the hardware (settings, store, broker, clock); ``--quick`` checks only
that this release can run the door here (settings, store): the update script's health check,
which must not fail on a network outage or touch the pins and camera the service holds.
Exit status 0 only when every line is OK."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TextIO

from mqttlink import Link, LinkSettings
from station_agent.adapters.store_sqlite import AgentStore
from station_agent.config import AgentSettings
from station_agent.core.readiness import ReadinessFacts, judge
from station_agent.heartbeat import OutboxFacts, outbox_facts
from station_agent.ports import Hardware

BROKER_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class Line:
    ok: bool
    part: str
    detail: str

    def __str__(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.part:<12} {self.detail}"


def quick_checks(settings: AgentSettings) -> list[Line]:
    return [_store(settings)]


def link_checks(settings: AgentSettings, server_url: str | None) -> list[Line]:
    broker = _broker(settings)
    return [broker, _clock(settings, server_url), _readiness(settings, broker_connected=broker.ok)]


def _store(settings: AgentSettings) -> Line:
    try:
        store = AgentStore(settings.store_path)
    except Exception as exc:  # any reason the store cannot be used is this line's answer
        return Line(False, "store", f"cannot open {settings.store_path}: {exc}: check its owner")
    try:
        facts = outbox_facts(store, time.time())
    finally:
        store.close()
    if not facts.store_ok:
        return Line(False, "store", f"cannot read {settings.store_path}: see the log")
    oldest = facts.oldest_unsent_age_s
    since = f", the oldest from {oldest:.0f} s ago" if oldest is not None else ""
    return Line(True, "store", f"{facts.depth} events waiting to be sent{since}")


# What to look at for each reason ``check`` can find (the camera is its own line).
_WHAT_TO_DO = {
    "store_error": "the store: its disk and owner",
    "broker_down": "the broker line above",
    "outbox_backlog": "events are not reaching the server: the broker line and the server's log",
}


def _readiness(settings: AgentSettings, *, broker_connected: bool) -> Line:
    """The verdict the heartbeat carries, from what ``check`` can see (no scan loop runs)."""
    try:
        store = AgentStore(settings.store_path)
    except Exception:  # the store line says why
        facts = OutboxFacts(store_ok=False, depth=0, oldest_unsent_age_s=None)
    else:
        try:
            facts = outbox_facts(store, time.time())
        finally:
            store.close()
    verdict = judge(
        ReadinessFacts(
            store_ok=facts.store_ok,
            broker_connected=broker_connected,
            frame_age_s=None,
            frame_interval_s=settings.frame_interval_s,
            camera_ok=True,
            outbox_depth=facts.depth,
            oldest_unsent_age_s=facts.oldest_unsent_age_s,
        )
    )
    if verdict.ready:
        return Line(True, "ready", "store, broker and outbox as the heartbeat would report them")
    look = "; ".join(_WHAT_TO_DO[code] for code in verdict.codes if code in _WHAT_TO_DO)
    return Line(False, "ready", f"not ready: {', '.join(verdict.codes)}: check {look}")


def _broker(settings: AgentSettings) -> Line:
    where = f"{settings.broker_host}:{settings.broker_port}"
    scheme = "mqtts" if settings.broker_ca_file else "mqtt"
    password = settings.broker_password.get_secret_value() if settings.broker_password else None
    link = Link(
        client_id=f"check-{settings.station_id}",
        settings=LinkSettings(
            host=settings.broker_host,
            port=settings.broker_port,
            username=settings.broker_username,
            password=password,
            ca_file=str(settings.broker_ca_file) if settings.broker_ca_file else None,
        ),
        on_message=lambda _: None,
    )
    link.start()
    try:
        if link.wait_connected(BROKER_WAIT_S):
            return Line(True, "broker", f"{scheme}://{where} as {settings.broker_username}")
    finally:
        link.stop()
    return Line(
        False,
        "broker",
        f"no connection to {scheme}://{where} in {BROKER_WAIT_S:.0f} s: check the network, the"
        " box's date (TLS needs it), and that the station is provisioned (reprovisioning gives"
        " a new password: enrol the new bundle)",
    )


def _clock(settings: AgentSettings, server_url: str | None) -> Line:
    if not server_url:
        return Line(True, "clock", "no server address in the bundle: check time sync by hand")
    try:
        with urllib.request.urlopen(f"{server_url.rstrip('/')}/healthz", timeout=5) as reply:  # noqa: S310 (the bundle's own server)
            server_now = parsedate_to_datetime(reply.headers["date"]).timestamp()
    except (OSError, urllib.error.URLError, KeyError, TypeError, ValueError) as exc:
        return Line(False, "clock", f"cannot ask {server_url} the time: {exc}")
    offset = time.time() - server_now
    if abs(offset) > settings.max_clock_offset_s:
        return Line(
            False,
            "clock",
            f"{offset:+.0f} s off the server's: turn on time sync (chrony or"
            " systemd-timesyncd); offline entry is refused while the clock is off",
        )
    return Line(True, "clock", f"within {abs(offset):.0f} s of the server")


def hardware_checks(
    settings: AgentSettings, hardware: Hardware, *, wait_s: float, say: Callable[[str], None]
) -> list[Line]:
    return [
        _camera(hardware, wait_s),
        _relay(settings, hardware),
        _input("door", hardware.door.subscribe, "open and close the door", wait_s, say),
        _input("exit button", hardware.exit_button.subscribe, "press the exit button", wait_s, say),
    ]


def _camera(hardware: Hardware, wait_s: float) -> Line:
    frames, codes = 0, set()
    deadline = time.monotonic() + min(wait_s, 3.0)
    while time.monotonic() < deadline:
        frame = hardware.camera.read()
        if frame is not None:
            frames += 1
            codes.update(hardware.decoder.decode(frame))
        time.sleep(0.05)
    if not frames:
        return Line(False, "camera", "no frames: check the cable and hardware.camera_source")
    shown = f"; codes read: {len(codes)}" if codes else "; hold a code up to check decoding"
    return Line(True, "camera", f"{frames} frames{shown}")


def _relay(settings: AgentSettings, hardware: Hardware) -> Line:
    pin = getattr(getattr(settings, "hardware", None), "lock_pin", None)
    if pin is None:
        return Line(False, "relay", "hardware.lock_pin is not set: set it in agent.toml")
    hardware.lock.unlock()
    time.sleep(0.5)
    hardware.lock.lock()
    return Line(True, "relay", f"pin {pin} released and locked again: it should have clicked")


def _input(
    part: str,
    subscribe: Callable[[Callable[..., None]], None],
    ask: str,
    wait_s: float,
    say: Callable[[str], None],
) -> Line:
    changed = threading.Event()
    subscribe(lambda *_: changed.set())
    say(f"   … {ask} within {wait_s:.0f} s")
    if changed.wait(wait_s):
        return Line(True, part, "change seen")
    return Line(False, part, f"no change in {wait_s:.0f} s: check its wiring and pin in agent.toml")


def report(lines: list[Line], out: TextIO) -> int:
    for line in lines:
        print(line, file=out, flush=True)
    return 0 if all(line.ok for line in lines) else 1
