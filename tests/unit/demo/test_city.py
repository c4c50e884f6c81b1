"""The demo's city: the union's real shape (16 stations, most in the city, a few in a county
town), plausible places, riders of several platforms, and a day with lunch and dinner rushes."""

from __future__ import annotations

import pytest

from demo import city
from server.access.nearest import haversine_m
from server.riders.models import CHOSEN_PLATFORMS, Platform, RiderCreate
from server.stations.models import ADDRESS_MAX, Amenity, StationCreate, StationDetailsUpdate

WEST_LAKE = (30.2450, 120.1400)


def test_sixteen_stations_most_in_the_city_a_few_in_the_town() -> None:
    places = city.stations(16, seed=7)
    assert len(places) == 16
    assert len({p.name for p in places}) == 16
    in_town = [p for p in places if p.district == "桐庐县"]
    assert 2 <= len(in_town) <= 4
    for place in places:
        distance = haversine_m(*WEST_LAKE, place.lat, place.lon)
        limit = 70_000 if place in in_town else 25_000  # Tonglu is ~60 km up the Fuchun
        assert distance < limit, place
        assert place.address.startswith(place.district)
        assert 6 <= place.capacity <= 20
        StationCreate(id="station-01", name=place.name, capacity=place.capacity)
        StationDetailsUpdate(
            address=place.address, amenities=[Amenity(a) for a in place.amenities], reason="x"
        )
        assert len(place.address) <= ADDRESS_MAX


@pytest.mark.parametrize("count", [1, 3, 16, 40])
def test_fewer_or_more_stations(count: int) -> None:
    places = city.stations(count, seed=7)
    assert len(places) == count
    assert len({p.name for p in places}) == count
    assert places[: min(count, 16)] == list(city.PLACES[: min(count, 16)])
    assert city.stations(count, seed=7) == places  # the same city each run


def test_riders_of_several_platforms() -> None:
    riders = city.riders(24)
    assert {platform for platform, _ in riders} == {p.value for p in CHOSEN_PLATFORMS}
    assert len({name for _, name in riders}) >= 20  # mostly different people
    for platform, name in riders:
        RiderCreate(platform=Platform(platform), display_name=name)


def test_a_rider_keeps_to_their_part_of_town() -> None:
    places = city.stations(16, seed=7)
    tonglu = [i for i, p in enumerate(places) if p.district == "桐庐县"]
    assert set(city.nearest(places, tonglu[0], 3)) == set(tonglu)
    haunts = city.nearest(places, 0, 3)
    assert haunts[0] == 0
    assert not set(haunts) & set(tonglu)


def test_the_day_has_lunch_and_dinner_rushes() -> None:
    assert city.activity(12.0) == 1.0
    assert city.activity(18.5) > 0.85
    assert city.activity(3.0) == pytest.approx(city.NIGHT, abs=0.01)
    assert city.activity(12.0) > city.activity(10.0) > city.activity(3.0)
    assert city.activity(18.5) > city.activity(16.0)
    assert city.clock_hour(0, day_s=300, start_hour=10.5) == 10.5
    assert city.clock_hour(75, day_s=300, start_hour=10.5) == 16.5
    assert city.clock_hour(300, day_s=300, start_hour=10.5) == 10.5
