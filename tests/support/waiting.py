"""Waiting for something another thread or process does, without sleeping blindly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T], *, timeout_s: float = 5.0, what: str = "condition") -> T:
    """Poll until ``probe`` returns something truthy; fail the test with ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def stays(probe: Callable[[], object], *, for_s: float) -> bool:
    """True when ``probe`` stays falsy for the whole period."""
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        if probe():
            return False
        time.sleep(0.02)
    return True
