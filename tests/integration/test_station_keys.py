"""The consumer's cache of stations' keys: forged or unknown senders cost at most one query
per station per pause, however many messages they send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from protocol.signing import SigningKey
from server.core.db import init_db, make_engine
from server.stations.identity import UNKNOWN_RETRY_S, StationKeys
from server.stations.models import Station


def test_keys_are_read_again_at_most_once_per_pause(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    init_db(engine)
    key = SigningKey.generate()
    with Session(engine) as session:
        session.add(Station(id="st-a", name="a", capacity=5, public_key=key.public_key_text))
        session.commit()
    queries: list[str] = []

    def count(*args: Any) -> None:
        queries.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    now = [1000.0]
    keys = StationKeys(engine, clock=lambda: now[0])

    assert keys.get("st-a") == key.public_key
    for _ in range(50):  # a flood of forged signatures asks for a fresh read each time
        assert keys.get("st-a", fresh=True) == key.public_key
        assert keys.get("st-nobody") is None
    assert len(queries) == 2  # one for the station, one for the unknown one
    now[0] += UNKNOWN_RETRY_S + 1
    keys.get("st-a", fresh=True)
    keys.get("st-nobody")
    assert len(queries) == 4
    engine.dispose()


def test_every_key_is_read_in_one_query_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    init_db(engine)
    keys_by_station = {f"st-{n:03d}": SigningKey.generate() for n in range(120)}
    with Session(engine) as session:
        for station_id, key in keys_by_station.items():
            session.add(
                Station(id=station_id, name=station_id, capacity=5, public_key=key.public_key_text)
            )
        session.add(Station(id="st-broken", name="b", capacity=5, public_key="not base64!"))
        session.add(Station(id="st-keyless", name="k", capacity=5))
        session.commit()
    queries: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: queries.append(str(args[2])))
    keys = StationKeys(engine)

    assert keys.preload() == 120
    assert len(queries) == 1
    for station_id, key in keys_by_station.items():
        assert keys.get(station_id) == key.public_key
    assert len(queries) == 1  # every one from memory
    assert "st-broken" in caplog.text
    # A station with no usable key is read (and refused) as before; a new one is found.
    for _ in range(20):  # refused without a traceback, and read once per pause, not 20 times
        assert keys.get("st-broken") is None
    assert len(queries) == 2
    late = SigningKey.generate()
    with Session(engine) as session:
        session.add(Station(id="st-late", name="l", capacity=5, public_key=late.public_key_text))
        session.commit()
    assert keys.get("st-late") == late.public_key
    engine.dispose()
