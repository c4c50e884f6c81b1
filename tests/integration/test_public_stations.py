"""The public station list (/api/public/stations) through real HTTP, with no login: only the
public fields (a test lists them), open now or when it reopens, free places that follow a real
entry, one computation for every caller, ETag, gzip, and a budget per client address."""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol.payloads import ProvisioningBundle
from server.core.localtime import LOCAL_TZ
from server.core.settings import ServerSettings
from tests.conftest import ADMIN_PASSWORD, SERVER_BROKER_PASSWORD, logged_in_server
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]

# Everything riders may read. A new field is a decision: add it here on purpose.
LIST_KEYS = {"generated_at", "hotline", "stations"}
STATION_KEYS = {
    "id",
    "name",
    "address",
    "lat",
    "lon",
    "open_now",
    "reopens_at",
    "free_places",
    "capacity",
    "amenities",
    "photo_url",
    "updated_at",
}


def _no_pause(_: float) -> None:
    return None


@pytest.fixture
def public(server: ServerHarness) -> Iterator[httpx.Client]:
    """A client with no login at all."""
    with closing(httpx.Client(base_url=server.client.base_url, timeout=10)) as client:
        yield client


def _rows(public: httpx.Client) -> dict[str, dict[str, object]]:
    reply = public.get("/api/public/stations")
    assert reply.status_code == 200, reply.text
    return {row["id"]: row for row in reply.json()["stations"]}


def _closed_all_week(server: ServerHarness, station_id: str) -> None:
    """Open only from 03:00 to 03:01 each day, so closed whenever the test runs (almost)."""
    now = datetime.now(LOCAL_TZ)
    opens = "03:00" if not (now.hour == 3 and now.minute < 2) else "15:00"
    closes = opens[:3] + "01"
    reply = server.client.patch(
        f"/api/stations/{station_id}/rules",
        json={"opening_hours": {"weekly": [[opens, closes]] * 7}, "reason": "test"},
    )
    assert reply.status_code == 200, reply.text


def test_only_public_fields_with_no_login(
    server: ServerHarness, make_station: MakeStation, public: httpx.Client
) -> None:
    here = unique_station_id()
    server.add_station(here, capacity=3, name="文三路驿站", latitude=30.28, longitude=120.13)
    closed = unique_station_id()
    server.add_station(closed, capacity=5, name="夜班驿站")
    _closed_all_week(server, closed)
    server.client.patch(
        f"/api/stations/{here}/details",
        json={"address": "西湖区文三路 90 号", "amenities": ["water", "toilet"], "reason": "t"},
    ).raise_for_status()
    station = make_station(here)
    rider_id, link = server.enrol()
    shown = enter(station.sim, server.qr_png(link), random.Random(3), _no_pause)
    assert shown is not None
    assert shown.allowed

    def entered() -> dict[str, object] | None:
        row = _rows(public)[here]
        return row if row["free_places"] == 2 else None

    row = wait_for(entered, what="the entry in the public list", timeout_s=10)
    body = public.get("/api/public/stations").json()
    assert set(body) == LIST_KEYS
    for station_row in body["stations"]:
        assert set(station_row) == STATION_KEYS, station_row
    assert row["name"] == "文三路驿站"
    assert row["address"] == "西湖区文三路 90 号"
    assert row["amenities"] == ["water", "toilet"]
    assert (row["lat"], row["lon"]) == (30.28, 120.13)
    assert row["open_now"] is True
    assert row["reopens_at"] is None
    assert row["capacity"] == 3
    assert row["updated_at"] is not None  # it has been heard from
    text = public.get("/api/public/stations").text
    assert rider_id not in text  # no rider, alarm or staff data anywhere in it
    assert "admin" not in text

    night = _rows(public)[closed]
    assert night["open_now"] is False
    assert isinstance(night["reopens_at"], str)
    assert datetime.fromisoformat(night["reopens_at"]).astimezone(LOCAL_TZ).minute == 0
    assert night["updated_at"] is None  # never heard from


def test_lockdown_is_closed_without_a_promised_time(
    server: ServerHarness, public: httpx.Client
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    server.client.post(
        f"/api/stations/{station_id}/commands", json={"kind": "lockdown", "reason": "test"}
    ).raise_for_status()
    row = wait_for(
        lambda: (r := _rows(public)[station_id])["open_now"] is False and r,
        what="the lockdown in the public list",
    )
    assert row["reopens_at"] is None


def test_one_computation_serves_every_caller_with_etag_and_gzip(
    server: ServerHarness, public: httpx.Client
) -> None:
    server.add_station(unique_station_id())
    finder = server.app.state.finder  # type: ignore[union-attr]
    first = public.get("/api/public/stations", headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip"
    assert first.headers["vary"] == "Accept-Encoding"
    assert first.headers["cache-control"] == "public, max-age=3"
    made = finder.stations.made
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: public.get("/api/public/stations"), range(24)))
    assert {r.status_code for r in replies} == {200}
    assert finder.stations.made - made <= 1  # at most one new list for all 24 (if it aged)

    plain = public.get("/api/public/stations", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(finder.stations.get().gzipped) == finder.stations.get().body
    etag = plain.headers["etag"]
    same = public.get("/api/public/stations", headers={"If-None-Match": etag})
    if same.headers["etag"] == etag:  # not remade in between
        assert same.status_code == 304
        assert same.content == b""
    other = public.get("/api/public/stations", headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200


@pytest.fixture
def strict(
    broker: PrivateBroker, tmp_path: Path, bundles: dict[str, ProvisioningBundle]
) -> Iterator[ServerHarness]:
    """A server whose public budget is 3 requests and then hardly any."""
    settings = ServerSettings(
        data_dir=tmp_path / "server",
        audience="ws-test",
        admin_password=ADMIN_PASSWORD,
        public_burst=3,
        public_requests_per_s=0.01,
        hotline="12351",
        **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
    )
    with logged_in_server(settings, broker, bundles) as harness:
        yield harness


def test_a_client_past_its_budget_gets_429(strict: ServerHarness) -> None:
    with closing(httpx.Client(base_url=strict.client.base_url, timeout=10)) as public:
        answers = [public.get("/api/public/stations") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[0].json()["hotline"] == "12351"
        refused = public.get("/api/public/stations")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "100"
        assert "too many requests" in refused.json()["detail"]
        # The staff's own API and the finder page are not behind the public budget.
        assert strict.client.get("/api/stations").status_code == 200
        finder = public.get("/find")
        assert finder.status_code == 200
        assert 'href="tel:12351"' in finder.text  # the union's hotline on the finder


@pytest.mark.parametrize(
    "path",
    [
        "/api/public/stations/st-none/photo/0123456789abcdef.jpg",
        "/api/public/stations/st-none/photo/not-a-digest.jpg",
        "/api/public/stations/st-none/photo/../../stations",
    ],
)
def test_unknown_or_malformed_photo_addresses(public: httpx.Client, path: str) -> None:
    assert public.get(path).status_code in (404, 422)
