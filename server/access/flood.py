"""A per-station budget of access requests: a burst, then a steady rate. One station sending
far more than a door can serve (a broken or stolen box) is cut off before the database, so
the other stations' riders do not wait behind it. No I/O; time is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestBudget:
    rate_per_s: float
    burst: int
    # station id -> (tokens left, when last counted)
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, station_id: str, now: float) -> bool:
        tokens, then = self._buckets.get(station_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - then) * self.rate_per_s)
        if tokens < 1.0:
            self._buckets[station_id] = (tokens, now)
            return False
        self._buckets[station_id] = (tokens - 1.0, now)
        return True

    def forget_full(self, now: float) -> int:
        """Drop the buckets that have filled up again (the same as none): what keeps a budget
        per client address from growing without end. How many were dropped."""
        full = [
            key
            for key, (tokens, then) in self._buckets.items()
            if tokens + max(0.0, now - then) * self.rate_per_s >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        return len(full)

    def __len__(self) -> int:
        return len(self._buckets)
