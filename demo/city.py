"""The demo's city: Hangzhou's union stations as the union runs them (16 open 24 hours, most in
the main districts, a few in an outlying county town), and a working day's rhythm compressed
into a few minutes (riders rest at lunch and dinner, the peaks of delivery work). Pure data and
arithmetic: the demo turns it into stations and riders.

Coordinates are WGS-84 (what GPS and phones give; the finder's map links say so), picked at
real streets of each district; addresses are plausible, not surveyed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

CITY = "杭州"
TOWN = "桐庐"


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    district: str
    address: str
    lat: float
    lon: float
    capacity: int
    amenities: tuple[str, ...]


_ALL = ("seats", "water", "microwave", "fridge", "charging", "medicine_box", "umbrellas")
PLACES: tuple[Place, ...] = (
    Place(
        "武林广场暖心驿站",
        "拱墅区",
        "拱墅区环城北路 208 号",
        30.2745,
        120.1645,
        16,
        (*_ALL, "toilet", "wifi"),
    ),
    Place("湖滨暖心驿站", "上城区", "上城区湖滨路 23 号", 30.2585, 120.1628, 12, (*_ALL, "wifi")),
    Place(
        "南宋御街暖心驿站",
        "上城区",
        "上城区中山中路 102 号",
        30.2465,
        120.1685,
        8,
        ("seats", "water", "charging", "umbrellas"),
    ),
    Place(
        "城站暖心驿站", "上城区", "上城区环城东路 1 号", 30.2440, 120.1825, 14, (*_ALL, "toilet")
    ),
    Place(
        "文三路暖心驿站",
        "西湖区",
        "西湖区文三路 259 号",
        30.2790,
        120.1370,
        10,
        ("seats", "water", "microwave", "charging", "wifi"),
    ),
    Place(
        "黄龙暖心驿站",
        "西湖区",
        "西湖区曙光路 120 号",
        30.2705,
        120.1450,
        8,
        ("seats", "water", "charging", "medicine_box"),
    ),
    Place(
        "西溪暖心驿站", "西湖区", "西湖区文二西路 551 号", 30.2750, 120.0700, 10, (*_ALL, "toilet")
    ),
    Place(
        "钱江新城暖心驿站", "上城区", "上城区富春路 290 号", 30.2450, 120.2130, 12, (*_ALL, "wifi")
    ),
    Place(
        "滨江星光暖心驿站",
        "滨江区",
        "滨江区江南大道 228 号",
        30.2090,
        120.2110,
        16,
        (*_ALL, "toilet", "wifi"),
    ),
    Place(
        "物联网街暖心驿站",
        "滨江区",
        "滨江区物联网街 451 号",
        30.1890,
        120.1920,
        10,
        ("seats", "water", "microwave", "charging", "wifi"),
    ),
    Place(
        "拱宸桥暖心驿站",
        "拱墅区",
        "拱墅区台州路 2 号",
        30.3180,
        120.1420,
        8,
        ("seats", "water", "charging", "umbrellas", "toilet"),
    ),
    Place(
        "萧山人民广场暖心驿站",
        "萧山区",
        "萧山区人民路 98 号",
        30.1650,
        120.2700,
        12,
        (*_ALL, "toilet"),
    ),
    Place(
        "未来科技城暖心驿站",
        "余杭区",
        "余杭区文一西路 1818 号",
        30.2900,
        120.0050,
        14,
        (*_ALL, "toilet", "wifi"),
    ),
    Place(
        "桐庐县城暖心驿站",
        "桐庐县",
        "桐庐县迎春南路 188 号",
        29.7975,
        119.6910,
        8,
        ("seats", "water", "microwave", "charging", "toilet"),
    ),
    Place(
        "桐庐客运中心暖心驿站",
        "桐庐县",
        "桐庐县白云源路 1 号",
        29.8120,
        119.6880,
        6,
        ("seats", "water", "charging"),
    ),
    Place(
        "富春江暖心驿站",
        "桐庐县",
        "桐庐县滨江路 56 号",
        29.7900,
        119.6820,
        6,
        ("seats", "water", "umbrellas", "medicine_box"),
    ),
)

# More stations than the city has (--stations 40): on these roads of the main districts.
_ROADS = (
    ("拱墅区", "莫干山路"),
    ("上城区", "庆春路"),
    ("西湖区", "天目山路"),
    ("上城区", "秋涛路"),
    ("滨江区", "长河路"),
    ("拱墅区", "上塘路"),
    ("西湖区", "古墩路"),
    ("萧山区", "市心路"),
    ("余杭区", "五常大道"),
    ("上城区", "之江路"),
)
_CENTRE = (30.2600, 120.1600)  # between West Lake and the Qiantang river


def stations(count: int, seed: int) -> list[Place]:
    """The city's stations, first the real shape's 16, then more on main roads if asked."""
    chosen = list(PLACES[:count])
    rng = random.Random(seed)
    for i in range(len(chosen), count):
        district, road = _ROADS[i % len(_ROADS)]
        number = rng.randrange(10, 900)
        angle, radius_km = rng.uniform(0, 2 * math.pi), rng.uniform(1.0, 12.0)
        lat = _CENTRE[0] + radius_km / 111.2 * math.sin(angle)
        lon = _CENTRE[1] + radius_km / (111.2 * math.cos(math.radians(_CENTRE[0]))) * math.cos(
            angle
        )
        chosen.append(
            Place(
                f"{road}{number}号暖心驿站",
                district,
                f"{district}{road} {number} 号",
                round(lat, 4),
                round(lon, 4),
                rng.choice((6, 8, 10, 12)),
                tuple(a for a in _ALL if rng.random() < 0.7) or ("seats", "water"),
            )
        )
    return chosen


# Riders as they are: most deliver food, some carry parcels, a few drive (display names are
# for staff only and never in a code).
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
_PLATFORMS = (
    ("meituan", "美团"),
    ("eleme", "饿了么"),
    ("sf_express", "顺丰"),
    ("meituan", "美团"),
    ("jd", "京东"),
    ("didi", "滴滴"),
    ("eleme", "饿了么"),
    ("other", "闪送"),
)


def riders(count: int) -> list[tuple[str, str]]:
    """(platform, display name) for each rider."""
    found = []
    for i in range(count):
        platform, company = _PLATFORMS[i % len(_PLATFORMS)]
        found.append((platform, f"{_SURNAMES[i % len(_SURNAMES)]}师傅（{company}）"))
    return found


def nearest(places: Sequence[Place], home: int, count: int) -> list[int]:
    """The ``count`` stations closest to station ``home`` (itself first): where a rider who
    works around it stops. Straight-line degrees are enough to rank within a city."""
    here = places[home]
    scale = math.cos(math.radians(here.lat))

    def far(i: int) -> float:
        return math.hypot(places[i].lat - here.lat, (places[i].lon - here.lon) * scale)

    return sorted(range(len(places)), key=lambda i: (far(i), i))[:count]


# A day's rhythm: riders stop in the quiet hours before the lunch and dinner rushes and after
# them, and hardly at night. Peaks as (hour, width in hours, height).
_PEAKS = ((8.0, 1.0, 0.35), (12.0, 1.0, 1.0), (14.5, 1.0, 0.45), (18.5, 1.2, 0.9))
NIGHT = 0.12


def activity(hour: float) -> float:
    """How busy the stations are at this local hour (0-24), from ``NIGHT`` to 1."""
    bumps = sum(h * math.exp(-(((hour - at) / width) ** 2) / 2) for at, width, h in _PEAKS)
    return min(1.0, NIGHT + bumps)


def clock_hour(elapsed_s: float, *, day_s: float, start_hour: float) -> float:
    """The demo's hour of the day after ``elapsed_s`` real seconds, one day every ``day_s``."""
    return (start_hour + 24.0 * elapsed_s / day_s) % 24.0
