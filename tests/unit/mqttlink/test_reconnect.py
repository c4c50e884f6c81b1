"""Reconnects spread over the jitter window."""

from __future__ import annotations

import random

from mqttlink.link import LinkSettings, first_retry_delay


def test_reconnects_after_a_broker_restart_spread_over_the_jitter_window() -> None:
    """Many stations losing the broker at once do not all come back in the same second."""
    settings = LinkSettings(reconnect_min_s=1.0, reconnect_jitter_s=3.0)
    rng = random.Random(4)
    delays = [first_retry_delay(settings, rng) for _ in range(1000)]
    assert min(delays) >= 1.0
    assert max(delays) <= 4.0
    per_second = [sum(1 for d in delays if s <= d < s + 1) for s in (1, 2, 3)]
    assert max(per_second) < 400  # about a third in each second, not all in one
