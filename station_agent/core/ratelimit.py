"""A token bucket: at most ``burst`` at once, refilled at ``rate_per_s``. Pure; time passed in.

Used so a flood of bad codes at one station cannot flood the server with denial events: the
excess is counted and reported in the next denial that passes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Bucket:
    rate_per_s: float
    burst: float
    tokens: float
    updated_at: float
    withheld: int = 0  # taken attempts refused since the last one allowed

    @staticmethod
    def full(rate_per_s: float, burst: float, now: float) -> Bucket:
        return Bucket(rate_per_s, burst, burst, now)

    def take(self, now: float) -> tuple[Bucket, int | None]:
        """Try to spend one token. Returns the new bucket and, when allowed, how many attempts
        were withheld before this one; None when this one is withheld too."""
        elapsed = max(0.0, now - self.updated_at)
        tokens = min(self.burst, self.tokens + elapsed * self.rate_per_s)
        if tokens >= 1.0:
            allowed = replace(self, tokens=tokens - 1.0, updated_at=now, withheld=0)
            return allowed, self.withheld
        return replace(self, tokens=tokens, updated_at=now, withheld=self.withheld + 1), None
