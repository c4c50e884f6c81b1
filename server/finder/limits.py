"""A budget of public requests per client address (a burst, then a steady rate), in this
process: a client that polls far faster than the finder does gets 429 before any work.

Each server worker keeps its own, so behind a proxy spreading requests over N workers a client
gets up to N times the budget: fine for a guard against floods, which is all this is (the
list itself is cached). The address is the one uvicorn reports: the client's own, or the one a
trusted proxy forwarded (``WS_SERVER_TRUSTED_PROXIES``); IPv6 counts by /64."""

from __future__ import annotations

import math
import threading

from server.access.flood import RequestBudget
from server.staff.throttle import client_address

FORGET_PAST = 10_000  # addresses remembered before the idle ones are dropped


class AddressBudget:
    def __init__(self, *, burst: int, rate_per_s: float) -> None:
        self._budget = RequestBudget(rate_per_s=rate_per_s, burst=burst)
        self._lock = threading.Lock()
        self.retry_after_s = max(1, math.ceil(1 / rate_per_s))

    def allow(self, host: str | None, now: float) -> bool:
        with self._lock:
            if len(self._budget) > FORGET_PAST:
                self._budget.forget_full(now)
            return self._budget.allow(client_address(host), now)
