"""A real agent says why it is not ready in its heartbeat; the server keeps it on the
station's row and staff see it on the overview and the station page."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]


def test_a_covered_then_stalled_camera_reaches_the_station_row_and_clears(
    server: ServerHarness, make_station: MakeStation, monkeypatch: pytest.MonkeyPatch
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id, heartbeat_s=0.3)
    wait_for(lambda: server.station(station_id).last_heartbeat_at, what="a first heartbeat")
    assert server.station(station_id).not_ready is None

    station.sim.camera.cover()
    wait_for(
        lambda: server.station(station_id).not_ready == "camera_blind",
        what="the covered camera on the station's row",
    )
    overview = server.client.get("/", params={"lang": "en"}).text
    assert "not-ready" in overview
    assert "camera sees no picture" in overview  # the reason, in words, as the badge's title
    page = server.client.get(f"/stations/{station_id}", params={"lang": "en"}).text
    assert "not ready: camera sees no picture" in page

    station.sim.camera.withdraw()
    monkeypatch.setattr(station.sim.camera, "read", lambda: None)  # no frames any more
    wait_for(
        lambda: server.station(station_id).not_ready == "camera_stalled",
        what="the stalled camera on the station's row",
    )

    monkeypatch.undo()
    wait_for(lambda: server.station(station_id).not_ready is None, what="the row cleared")
    assert "not-ready" not in server.client.get("/", params={"lang": "en"}).text
