from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from demo.broker import PrivateBroker
from server.config import ServerSettings
from server.main import create_app
from tests.support.stack import ServerHarness, StationHarness, serve_in_thread, start_station


@pytest.fixture
def broker() -> Iterator[PrivateBroker]:
    with PrivateBroker() as running:
        yield running


@pytest.fixture
def server(broker: PrivateBroker, tmp_path: Path) -> Iterator[ServerHarness]:
    settings = ServerSettings(
        data_dir=tmp_path / "server", broker_port=broker.port, audience="ws-test"
    )
    app = create_app(settings)
    with serve_in_thread(app) as client:
        yield ServerHarness(client, app.state.services)


@pytest.fixture
def make_station(broker: PrivateBroker) -> Iterator[Callable[..., StationHarness]]:
    started: list[StationHarness] = []

    def make(station_id: str, *, wait_config: bool = True) -> StationHarness:
        harness = start_station(station_id, broker.port, wait_config=wait_config)
        started.append(harness)
        return harness

    yield make
    for harness in started:
        harness.stop()
