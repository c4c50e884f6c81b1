from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.access.nearest import (
    EARTH_RADIUS_M,
    Nearby,
    StationSpot,
    haversine_m,
    nearest_with_room,
)

# Around People's Square, Shanghai.
HERE = StationSpot(
    "s-here", "人民广场站", 31.2304, 121.4737, occupancy=10, capacity=10, accepting=True
)


def _spot(sid: str, north_m: float, **kw: object) -> StationSpot:
    """A station ``north_m`` metres due north of HERE."""
    lat = HERE.lat + math.degrees(north_m / EARTH_RADIUS_M)  # type: ignore[operator]
    fields: dict[str, object] = {"occupancy": 0, "capacity": 10, "accepting": True}
    fields.update(kw)
    return StationSpot(sid, f"name of {sid}", lat, HERE.lon, **fields)  # type: ignore[arg-type]


def test_known_distances() -> None:
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)  # one degree north
    assert haversine_m(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_M)
    # Beijing (Tiananmen) to Shanghai (People's Square): about 1,067 km in a straight line.
    assert haversine_m(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.01)


_LAT = st.floats(-90, 90)
_LON = st.floats(-180, 180)


@given(_LAT, _LON, _LAT, _LON)
def test_distance_is_symmetric_and_bounded(a: float, b: float, c: float, d: float) -> None:
    there = haversine_m(a, b, c, d)
    assert there == pytest.approx(haversine_m(c, d, a, b), abs=1e-6)
    assert 0 <= there <= math.pi * EARTH_RADIUS_M + 1e-6
    assert haversine_m(a, b, a, b) == 0


def test_the_nearest_other_station_with_room_is_named() -> None:
    stations = [
        HERE,
        _spot("s-full", 300, occupancy=10),
        _spot("s-closed", 400, accepting=False),
        _spot("s-nowhere", 0),
        _spot("s-far", 5_000),
        _spot("s-near", 1_200, occupancy=9),
    ]
    stations[3] = StationSpot("s-nowhere", "x", None, None, 0, 10, accepting=True)
    nearby = nearest_with_room("s-here", stations)
    assert nearby is not None
    assert nearby.station.station_id == "s-near"
    assert nearby.distance_m == pytest.approx(1_200, rel=1e-6)


def test_none_when_nothing_fits() -> None:
    assert nearest_with_room("s-here", [HERE]) is None
    assert nearest_with_room("s-here", [HERE, _spot("s-full", 100, occupancy=12)]) is None
    assert nearest_with_room("s-unknown", [HERE, _spot("s-1", 100)]) is None
    assert nearest_with_room("s-here", [HERE, _spot("s-1", 9_000)], max_distance_m=8_000) is None
    lost = StationSpot("s-here", "x", None, None, 10, 10, accepting=True)
    assert nearest_with_room("s-here", [lost, _spot("s-1", 100)]) is None


def test_a_full_station_with_room_elsewhere_is_not_suggested_to_itself() -> None:
    roomy_here = StationSpot(
        "s-here", HERE.name, HERE.lat, HERE.lon, occupancy=0, capacity=10, accepting=True
    )
    assert nearest_with_room("s-here", [roomy_here]) is None


@given(st.permutations(["s-a", "s-b", "s-c", "s-d"]), st.randoms(use_true_random=False))
def test_the_answer_does_not_depend_on_the_order(ids: list[str], rnd: random.Random) -> None:
    spots = [_spot(sid, 700 if sid in {"s-b", "s-c"} else 900) for sid in ids]
    spots.insert(rnd.randrange(len(spots) + 1), HERE)
    nearby = nearest_with_room("s-here", spots)
    assert isinstance(nearby, Nearby)
    assert nearby.station.station_id == "s-b"  # a tie goes to the lower id
