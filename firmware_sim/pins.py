"""GPIO pins in a directory, so that a test can drive a whole agent process's door from outside.

A gpiozero pin factory (gpiozero's mock machinery underneath): an input pin follows the file
``<dir>/GPIO17`` (``0`` or ``1``, polled by a thread; missing: the pin rests at its pull), and
every change of an output pin is written to ``<dir>/GPIO18.out`` (replaced atomically: ``1``,
``0``, or ``z`` once released) and appended to ``<dir>/GPIO18.history`` (``<unix time>
<state>`` lines). Edge callbacks run on the polling thread, as gpiozero's own run on its
threads.

The agent never imports this: a process selects it by entry point, with the directory in
``WS_PINS_DIR``::

    GPIOZERO_PIN_FACTORY=ws_files WS_PINS_DIR=/tmp/pins python -m station_agent run

and the test drives it with ``PinBoard("/tmp/pins")``.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin  # type: ignore[import-untyped]

ENTRY_POINT = "ws_files"  # [project.entry-points.gpiozero_pin_factories] in pyproject.toml
DIR_ENV = "WS_PINS_DIR"
RELEASED = "z"  # an output pin let go (its device closed): a relay on it drops out


def _write_atomically(path: Path, text: str) -> None:
    """A reader sees the old content or the new, never half of it."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def _append(path: Path, line: str) -> None:
    # One small O_APPEND write: lines of concurrent writers never interleave.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


class FilePin(MockPin):  # type: ignore[misc]
    """A mock pin whose input level comes from a file and whose output goes to one."""

    def __init__(self, factory: FilePinFactory, info: Any) -> None:
        self._directory = factory.directory
        self._entering_output = False
        super().__init__(factory, info)

    @property
    def _name(self) -> str:
        return str(self.info.name)

    def output_with_state(self, state: bool) -> None:
        # As a real chip does: the pin becomes an output already at its level, no glitch.
        self._entering_output = True
        try:
            super().output_with_state(state)
        finally:
            self._entering_output = False
        self._record("1" if self._state else "0")

    def _set_function(self, value: str) -> None:
        was = self._function
        super()._set_function(value)
        if value == "output" and not self._entering_output:
            self._record("1" if self._state else "0")
        elif value == "input" and was == "output":
            self._record(RELEASED)

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        self.follow_file()  # a file written before the pin existed wins over the pull

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if changed and self._function == "output" and not self._entering_output:
            self._record("1" if value else "0")
        return changed

    def _record(self, state: str) -> None:
        # History first: whoever sees the new state finds it in the history too.
        _append(self._directory / f"{self._name}.history", f"{time.time():.6f} {state}\n")
        _write_atomically(self._directory / f"{self._name}.out", state + "\n")

    def follow_file(self) -> None:
        """Drive the input to the level its file says (no file: leave it at its pull)."""
        try:
            text = (self._directory / self._name).read_text().strip()
        except OSError:
            return
        try:
            if text == "1":
                self.drive_high()
            elif text == "0":
                self.drive_low()
        except AssertionError:
            pass  # turned into an output meanwhile: nothing to follow


class FilePinFactory(MockFactory):  # type: ignore[misc]
    """The pin factory behind the ``ws_files`` entry point."""

    def __init__(self, directory: str | Path | None = None, *, poll_s: float = 0.01) -> None:
        chosen = directory if directory is not None else os.environ.get(DIR_ENV)
        if not chosen:
            raise ValueError(f"{ENTRY_POINT}: set {DIR_ENV} to the pins' directory")
        self.directory = Path(chosen)
        self.directory.mkdir(parents=True, exist_ok=True)
        super().__init__(pin_class=FilePin)
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="file-pins", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_s):
            for pin in list(self.pins.values()):
                if pin.function == "input":
                    pin.follow_file()

    def close(self) -> None:
        self._stop.set()
        if self._poller is not threading.current_thread():
            self._poller.join(1.0)
        super().close()


class PinBoard:
    """The test's side of the directory: set inputs, read outputs and their history."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def set_input(self, pin: int, high: bool) -> None:
        _write_atomically(self.directory / f"GPIO{pin}", "1\n" if high else "0\n")

    def output(self, pin: int) -> bool | None:
        """The level an output pin drives; None when it is not (yet, or any more) an output."""
        try:
            text = (self.directory / f"GPIO{pin}.out").read_text().strip()
        except FileNotFoundError:
            return None
        return None if text == RELEASED else text == "1"

    def history(self, pin: int) -> list[tuple[float, str]]:
        """Every state the output took, with its Unix time: ``1``, ``0`` or ``z``."""
        try:
            lines = (self.directory / f"GPIO{pin}.history").read_text().splitlines()
        except FileNotFoundError:
            return []
        return [(float(at), state) for at, state in (line.split() for line in lines if line)]

    def on_spans(self, pin: int) -> list[tuple[float, float | None]]:
        """(start, end) of each stretch the output was high; end None while it still is."""
        spans: list[tuple[float, float | None]] = []
        since: float | None = None
        for at, state in self.history(pin):
            if state == "1" and since is None:
                since = at
            elif state != "1" and since is not None:
                spans.append((since, at))
                since = None
        if since is not None:
            spans.append((since, None))
        return spans

    def wait_output(self, pin: int, level: bool | None, timeout_s: float = 5.0) -> bool:
        """Until the output drives ``level``; False when it did not within the time."""
        deadline = time.monotonic() + timeout_s
        while self.output(pin) != level:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True
