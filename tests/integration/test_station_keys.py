"""The consumer's cache of stations' keys: forged or unknown senders cost at most one query
per station per pause, however many messages they send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
