"""Whether this server process can do its work now (pure): the database answers, both broker
links are up, and the consumer keeps up with what arrives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LaneLook:
    name: str
    depth: int
    capacity: int
    oldest_age_s: float  # 0 when empty


@dataclass(frozen=True, slots=True)
class Looks:
    """What the probes saw: ``database_error`` is None when the database answered."""

    database_error: str | None
    links: dict[str, bool]  # link name -> connected
    lanes: tuple[LaneLook, ...]


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str]  # check -> "ok" or why not

    def as_json(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "not ready", "checks": self.checks}


def lane_behind(lane: LaneLook, max_age_s: float) -> str | None:
    """Why a lane is not keeping up, or None: full (shedding), or its oldest message waited
    longer than ``max_age_s``."""
    if lane.depth >= lane.capacity:
        return f"{lane.name} lane full ({lane.depth} queued)"
    if lane.oldest_age_s > max_age_s:
        return f"{lane.name} lane behind: oldest message waited {lane.oldest_age_s:.1f} s"
    return None


def assess(looks: Looks, *, max_queue_age_s: float) -> Readiness:
    checks = {"database": looks.database_error or "ok"}
    down = sorted(name for name, up in looks.links.items() if not up)
    checks["broker"] = f"not connected: {', '.join(down)} link" if down else "ok"
    behind = [why for lane in looks.lanes if (why := lane_behind(lane, max_queue_age_s))]
    checks["consumer"] = "; ".join(behind) if behind else "ok"
    return Readiness(all(value == "ok" for value in checks.values()), checks)
