"""The station's limits: denial rate limit, when offline entry is refused, the durable replay
cache and store versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.reasons import Reason
from station_agent.adapters.store_sqlite import MIGRATIONS, AgentStore, StoreError
from station_agent.core.offline import offline_refusal
from station_agent.core.ratelimit import Bucket
from station_agent.core.scan import StationView


def test_bucket_allows_a_burst_then_the_rate_and_counts_the_rest() -> None:
    bucket = Bucket.full(rate_per_s=1, burst=3, now=0)
    results = []
    for _ in range(6):
        bucket, withheld = bucket.take(0)
        results.append(withheld)
    assert results == [0, 0, 0, None, None, None]
    bucket, withheld = bucket.take(1.0)
    assert withheld == 3  # the three refused before are reported with this one
    bucket, withheld = bucket.take(1.0)
    assert withheld is None


VIEW = StationView("s", "aud", {}, config_version=1, issued_at=1000.0)


@pytest.mark.parametrize(
    ("view", "now", "offset", "expected"),
    [
        (None, 1000.0, None, Reason.NOT_CONFIGURED),
        (VIEW, 1000.0 + 86_400, None, None),
        (VIEW, 1000.0 + 86_401, None, Reason.DENYLIST_STALE),
        (VIEW, 1000.0, 29.0, None),
        (VIEW, 1000.0, -31.0, Reason.CLOCK_UNTRUSTED),
    ],
)
def test_offline_refusal(
    view: StationView | None, now: float, offset: float | None, expected: Reason | None
) -> None:
    refusal = offline_refusal(
        view, now=now, clock_offset_s=offset, max_denylist_age_s=86_400, max_clock_offset_s=30
    )
    assert refusal is expected


def test_replay_cache_survives_a_restart_and_forgets_expired(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    store = AgentStore(path)
    store.remember(b"n1", expires_at=100.0, now=0.0)
    store.close()

    reopened = AgentStore(path)
    assert reopened.schema_version == len(MIGRATIONS)
    assert reopened.seen(b"n1", now=50.0)
    assert not reopened.seen(b"n2", now=50.0)
    assert not reopened.seen(b"n1", now=100.5)  # could no longer be valid anyway
    reopened.remember(b"n2", expires_at=300.0, now=200.0)  # prunes n1
    count = reopened._db.execute("SELECT count(*) FROM replay").fetchone()[0]
    assert count == 1


def test_store_from_a_newer_agent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    AgentStore(path).close()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer"):
        AgentStore(path)
