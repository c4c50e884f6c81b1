"""Whether the station may decide on its own when the server does not answer. Pure.

Offline entry relies on the denylist and on the station's clock (token expiry), so a station
with a stale denylist or a clock the server disagrees with refuses instead (fail-secure).
"""

from __future__ import annotations

from protocol.reasons import Reason
from station_agent.core.scan import StationView


def offline_refusal(
    view: StationView | None,
    *,
    now: float,
    clock_offset_s: float | None,
    max_denylist_age_s: float,
    max_clock_offset_s: float,
) -> Reason | None:
    """Why the station must not decide offline now, or None when it may."""
    if view is None:
        return Reason.NOT_CONFIGURED
    if now - view.issued_at > max_denylist_age_s:
        return Reason.DENYLIST_STALE
    if clock_offset_s is not None and abs(clock_offset_s) > max_clock_offset_s:
        return Reason.CLOCK_UNTRUSTED
    return None
