"""A thread-safe list of callbacks, as a GPIO edge interrupt would call them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Observers(Generic[P]):
    def __init__(self) -> None:
        self._callbacks: list[Callable[P, None]] = []
        self._guard = threading.Lock()

    def add(self, callback: Callable[P, None]) -> None:
        with self._guard:
            self._callbacks.append(callback)

    def notify(self, *args: P.args, **kwargs: P.kwargs) -> None:
        with self._guard:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(*args, **kwargs)
