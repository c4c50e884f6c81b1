"""What riders read about a station, as staff edit it through the real API: address and
amenities (validated, audited), the photo (size-limited, re-encoded with Pillow, served with
long caching). Every refusal names what is wrong and changes nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.stack import ServerHarness, unique_station_id
from tests.support.waiting import wait_for

PHOTO_LIMIT = 8 * 1024 * 1024  # the default WS_SERVER_PHOTO_MAX_BYTES


def _image(fmt: str = "JPEG", size: tuple[int, int] = (800, 600), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (180, 60, 40)).save(out, fmt, **save)
    return out.getvalue()


def _phone_photo() -> bytes:
    """A landscape JPEG a phone took held upright: EXIF says "rotate 90°" and names the phone."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the picture is to be turned 90° clockwise
    exif[0x010F] = "SomePhone"  # Make
    return _image("JPEG", (2000, 1500), exif=exif)


def _audit(server: ServerHarness, station_id: str) -> list[dict[str, Any]]:
    """The station's audit entries about what riders read (its creation is audited too)."""
    reply = server.client.get("/api/audit", params={"station_id": station_id})
    entries: list[dict[str, Any]] = reply.raise_for_status().json()
    return [e for e in entries if e["action"] != "station_created"]


@pytest.fixture
def station(server: ServerHarness) -> str:
    station_id = unique_station_id()
    server.add_station(station_id, capacity=8)
    return station_id


@pytest.fixture
def public(server: ServerHarness) -> Iterator[httpx.Client]:
    """A client with no login at all."""
    with closing(httpx.Client(base_url=server.client.base_url, timeout=10)) as client:
        yield client


def _public_row(public: httpx.Client, station_id: str) -> dict[str, object]:
    rows = public.get("/api/public/stations").raise_for_status().json()["stations"]
    [row] = [r for r in rows if r["id"] == station_id]
    assert isinstance(row, dict)
    return row


def test_details_are_saved_audited_and_public(
    server: ServerHarness, station: str, public: httpx.Client
) -> None:
    reply = server.client.patch(
        f"/api/stations/{station}/details",
        json={
            "address": "  杭州市西湖区\n文三路 90 号  ",
            "amenities": ["water", "charging", "wifi"],
            "reason": "开站",
        },
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "id": station,
        "address": "杭州市西湖区 文三路 90 号",  # one line
        "amenities": ["water", "charging", "wifi"],
        "photo_url": None,
    }
    [entry] = [e for e in _audit(server, station) if e["action"] == "station_details_changed"]
    assert entry["actor"] == "admin"
    assert entry["reason"] == "开站"
    assert entry["before"] == {"address": None, "amenities": []}
    assert entry["after"]["address"] == "杭州市西湖区 文三路 90 号"

    # The public list is made again a few seconds later at most.
    wait_for(
        lambda: _public_row(public, station)["address"] == "杭州市西湖区 文三路 90 号",
        what="the public list to show the address",
    )
    assert _public_row(public, station)["amenities"] == ["water", "charging", "wifi"]

    cleared = server.client.patch(
        f"/api/stations/{station}/details", json={"address": "", "reason": "搬迁"}
    )
    assert cleared.json()["address"] is None
    assert cleared.json()["amenities"] == ["water", "charging", "wifi"]  # not given: kept


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"amenities": ["water", "sauna"]}, "amenities"),
        ({"amenities": ["water", "water"]}, "each at most once"),
        ({"address": "路" * 121}, "120 characters"),
        ({"address": "a b"}, "at least 4 characters"),
        ({"address": "文三路\x0090 号"}, "control characters"),
        ({"address": 42}, "valid string"),
    ],
)
def test_bad_details_are_refused_and_change_nothing(
    server: ServerHarness, station: str, change: dict[str, object], says: str
) -> None:
    before = server.client.get(f"/api/stations/{station}/details").json()
    reply = server.client.patch(
        f"/api/stations/{station}/details", json={"reason": "test", **change}
    )
    assert reply.status_code == 422
    assert says in reply.text
    assert server.client.get(f"/api/stations/{station}/details").json() == before
    assert _audit(server, station) == []


def test_details_need_a_reason_an_operator_and_a_known_station(
    server: ServerHarness, station: str
) -> None:
    path = f"/api/stations/{station}/details"
    assert server.client.patch(path, json={"address": "文三路 90 号"}).status_code == 422
    assert (
        server.client.patch("/api/stations/st-nowhere/details", json={"reason": "x"}).status_code
        == 404
    )
    server.client.post(
        "/api/staff", json={"username": "view-li", "password": "viewer-pass-1", "role": "viewer"}
    ).raise_for_status()
    with closing(httpx.Client(base_url=server.client.base_url, timeout=10)) as viewer:
        login = viewer.post(
            "/api/auth/login", json={"username": "view-li", "password": "viewer-pass-1"}
        )
        viewer.headers["Authorization"] = f"Bearer {login.json()['token']}"
        assert viewer.get(path).status_code == 200
        refused = viewer.patch(path, json={"address": "文三路 90 号", "reason": "x"})
        assert refused.status_code == 403
        photo = viewer.put(
            f"/api/stations/{station}/photo",
            params={"reason": "x"},
            content=_image(),
            headers={"Content-Type": "image/jpeg"},
        )
        assert photo.status_code == 403
    assert _audit(server, station) == []


def test_photo_is_reencoded_upright_without_exif_and_cached_for_good(
    server: ServerHarness, station: str, public: httpx.Client
) -> None:
    reply = server.client.put(
        f"/api/stations/{station}/photo",
        params={"reason": "新照片"},
        content=_phone_photo(),
        headers={"Content-Type": "image/jpeg"},
    )
    assert reply.status_code == 200, reply.text
    url = reply.json()["photo_url"]
    assert url.startswith(f"/api/public/stations/{station}/photo/")

    served = public.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert "immutable" in served.headers["cache-control"]
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "JPEG"
    assert image.size == (960, 1280)  # turned upright, longest side 1280
    assert not image.getexif()  # the phone's metadata is gone
    again = public.get(url, headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""

    [entry] = [e for e in _audit(server, station) if e["action"] == "station_photo_changed"]
    assert entry["detail"].startswith("960x1280")

    replaced = server.client.put(
        f"/api/stations/{station}/photo",
        params={"reason": "换一张"},
        content=_image("PNG"),
        headers={"Content-Type": "image/png"},
    )
    assert replaced.json()["photo_url"] != url  # a new photo, a new address
    assert public.get(url).status_code == 404
    assert public.get(replaced.json()["photo_url"]).status_code == 200

    removed = server.client.delete(f"/api/stations/{station}/photo", params={"reason": "拆除"})
    assert removed.json()["photo_url"] is None
    assert public.get(replaced.json()["photo_url"]).status_code == 404
    assert (
        server.client.delete(
            f"/api/stations/{station}/photo", params={"reason": "拆除"}
        ).status_code
        == 404
    )


def _bomb() -> bytes:
    """A PNG that claims 12,000 x 12,000 pixels in a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")
    return out.getvalue()


def _chunks(data: bytes) -> Iterator[bytes]:
    for at in range(0, len(data), 65_536):
        yield data[at : at + 65_536]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b"\xff\xd8" + b"\0" * (PHOTO_LIMIT + 1), "image/jpeg", 413, "larger than"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", 415, "image/jpeg"),
        (b"just some text, not a photo", "image/png", 422, "not an image"),
        (_image()[:2000], "image/jpeg", 422, "damaged"),
        (_image("GIF"), "image/jpeg", 422, "JPEG, PNG or WebP, not GIF"),
        (_image("PNG", (40, 40)), "image/png", 422, "too small"),
        (_bomb(), "image/png", 422, "too large"),
    ],
    ids=["too-big", "svg", "text", "truncated", "gif", "tiny", "bomb"],
)
def test_bad_photos_are_refused_and_change_nothing(
    server: ServerHarness, station: str, body: bytes, content_type: str, status: int, says: str
) -> None:
    first = server.client.put(
        f"/api/stations/{station}/photo",
        params={"reason": "第一张"},
        content=_image(),
        headers={"Content-Type": "image/jpeg"},
    ).json()["photo_url"]
    reply = server.client.put(
        f"/api/stations/{station}/photo",
        params={"reason": "test"},
        content=body,
        headers={"Content-Type": content_type},
    )
    assert reply.status_code == status, reply.text
    assert says in reply.json()["detail"]
    assert server.client.get(f"/api/stations/{station}/details").json()["photo_url"] == first
    assert [e["action"] for e in _audit(server, station)] == ["station_photo_changed"]


def test_an_oversized_photo_without_a_declared_length_is_cut_off(
    server: ServerHarness, station: str
) -> None:
    """Sent in chunks (no Content-Length): refused once the limit is passed, not at the end."""
    reply = server.client.put(
        f"/api/stations/{station}/photo",
        params={"reason": "test"},
        content=_chunks(b"\xff\xd8" + b"\0" * (PHOTO_LIMIT + 1)),
        headers={"Content-Type": "image/jpeg"},
    )
    assert reply.status_code == 413
    assert server.client.get(f"/api/stations/{station}/details").json()["photo_url"] is None
