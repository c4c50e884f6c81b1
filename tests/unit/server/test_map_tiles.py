"""The map tile setting: which addresses are taken, what the pages' policy then allows, and
the clear refusal of each wrong address (the server does not start with one)."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from server.core.settings import ServerSettings, tile_source
from server.web.security_headers import PAGE_POLICY, headers_for, page_policy

TIANDITU = (
    "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY"
)
TIANDITU_LABELS = TIANDITU.replace("vec_w", "cva_w").replace("LAYER=vec", "LAYER=cva")
AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&style=8&x={x}&y={y}&z={z}"


@pytest.mark.parametrize(
    ("url", "source"),
    [
        (TIANDITU, "https://*.tianditu.gov.cn"),
        (AMAP, "https://*.is.autonavi.com"),
        ("http://tiles.union.local:8080/{z}/{x}/{y}.png", "http://tiles.union.local:8080"),
        ("https://TILES.example.cn/{z}/{x}/{y}.png", "https://tiles.example.cn"),
    ],
)
def test_a_tile_address_becomes_one_policy_source(url: str, source: str) -> None:
    assert tile_source(url) == source


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://tiles.example.cn/{z}/{x}/{y}", "starts with https://"),
        ("tiles.example.cn/{z}/{x}/{y}", "starts with https://"),
        ("https://tiles.example.cn/{z}/{x}.png", "needs {y}"),
        ("https://tiles.example.cn/tile.png", "needs {z}, {x}, {y}"),
        ("https://a.{s}.example.cn/{z}/{x}/{y}", "{s} only in its first label"),
        ("https://{s}.cn/{z}/{x}/{y}", "a domain of its own"),
        ("https://user:pw@tiles.example.cn/{z}/{x}/{y}", "no user name or password"),
        ("https://tiles_example.cn/{z}/{x}/{y}", "{s} only in its first label"),
    ],
)
def test_a_wrong_tile_address_is_refused_saying_why(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        tile_source(url)
    with pytest.raises(ValidationError, match=re.escape(says)):
        ServerSettings(map_tile_url=url)


def test_without_tiles_the_pages_load_images_only_from_themselves() -> None:
    settings = ServerSettings()
    assert settings.map_image_sources == []
    assert dict(headers_for("/map", https=False))["Content-Security-Policy"] == PAGE_POLICY
    assert "img-src 'self';" in PAGE_POLICY


def test_with_tiles_their_hosts_and_no_other_are_added_to_img_src() -> None:
    settings = ServerSettings(map_tile_url=TIANDITU, map_label_url=TIANDITU_LABELS)
    assert settings.map_image_sources == ["https://*.tianditu.gov.cn", "data:"]
    policy = dict(headers_for("/map", https=True, image_sources=settings.map_image_sources))[
        "Content-Security-Policy"
    ]
    assert policy == page_policy(settings.map_image_sources)
    assert "img-src 'self' https://*.tianditu.gov.cn data:;" in policy
    assert "script-src 'self';" in policy  # scripts and styles still only from the server
    assert "connect-src 'self';" in policy
