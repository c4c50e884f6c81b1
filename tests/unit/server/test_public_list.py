"""The public list's parts without a server: what a station row becomes, the one-computation
cache with its ETag, the budget per client address."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from server.access.flood import RequestBudget
from server.finder.limits import AddressBudget
from server.finder.listing import public_station
from server.finder.snapshot import Snapshot, SnapshotCache
from server.stations.models import Amenity, Station

NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC).timestamp()  # 12:00 in Shanghai, a Monday


def _station(**fields: object) -> Station:
    return Station.model_validate({"id": "st-1", "name": "驿站", "capacity": 4, **fields})


def test_a_station_row_as_riders_read_it() -> None:
    row = public_station(
        _station(
            occupancy=6,  # over capacity (free entry in a typhoon): no negative places
            amenities=["water", "jacuzzi", "wifi"],  # one since retired
            opening_hours=json.dumps({"weekly": [["13:00", "18:00"]] * 7}),
            last_event_at=datetime(2026, 12, 7, 3, 0, tzinfo=UTC),
            last_heartbeat_at=datetime(2026, 12, 7, 3, 59, tzinfo=UTC),
        ),
        "0123456789abcdef",
        NOON,
    )
    assert row.free_places == 0
    assert row.amenities == [Amenity.WATER, Amenity.WIFI]
    assert row.open_now is False
    assert row.reopens_at == datetime(2026, 12, 7, 5, 0, tzinfo=UTC)  # 13:00 local
    assert row.updated_at == datetime(2026, 12, 7, 3, 59, tzinfo=UTC)
    assert row.photo_url == "/api/public/stations/st-1/photo/0123456789abcdef.jpg"


def test_the_list_is_made_once_per_max_age() -> None:
    now = [1000.0]
    made: list[float] = []

    def make(at: float) -> bytes:
        made.append(at)
        return json.dumps({"at": at}).encode()

    cache = SnapshotCache(make, max_age_s=3, clock=lambda: now[0])
    first = cache.get()
    now[0] += 2.9
    assert cache.get() is first
    now[0] += 0.1
    second = cache.get()
    assert second is not first
    assert made == [1000.0, 1003.0]
    assert second.etag != first.etag


def test_etag_matching() -> None:
    snapshot = Snapshot.of(b'{"stations": []}', 0)
    strong = snapshot.etag.removeprefix("W/")
    assert snapshot.matches(snapshot.etag)
    assert snapshot.matches(f'"other", {strong}')
    assert snapshot.matches("*")
    assert not snapshot.matches('W/"other"')
    assert not snapshot.matches("")


def test_budget_per_address() -> None:
    budget = AddressBudget(burst=2, rate_per_s=1.0)
    assert [budget.allow("10.0.0.1", 0.0) for _ in range(3)] == [True, True, False]
    assert budget.allow("10.0.0.2", 0.0)  # another address has its own
    assert budget.allow("10.0.0.1", 1.0)  # a second later, one more
    # One IPv6 subscriber holds a /64: taking a new address per request gains nothing.
    assert budget.allow("2001:db8:1:2::1", 0.0)
    assert budget.allow("2001:db8:1:2::ffff", 0.0)
    assert not budget.allow("2001:db8:1:2:abcd::9", 0.0)
    assert budget.retry_after_s == 1


def test_idle_addresses_are_forgotten() -> None:
    budget = RequestBudget(rate_per_s=1.0, burst=5)
    for i in range(4):
        budget.allow(f"10.0.0.{i}", 0.0)
    assert len(budget) == 4
    budget.allow("10.0.0.0", 4.5)  # still draining at 5 s
    assert budget.forget_full(5.0) == 3
    assert len(budget) == 1


def test_closed_without_a_promised_time_and_open_in_an_emergency() -> None:
    evening = json.dumps({"weekly": [["13:00", "18:00"]] * 7})
    for shut in ({"lockdown": True}, {"maintenance": True}):
        row = public_station(_station(opening_hours=evening, **shut), None, NOON)
        assert (row.open_now, row.reopens_at) == (False, None)
    typhoon = public_station(_station(opening_hours=evening, emergency="typhoon"), None, NOON)
    assert (typhoon.open_now, typhoon.reopens_at) == (True, None)
