"""The decision's database work (``server.access.decision_store``) on SQLite and PostgreSQL:
one read gives every input of a decision, unknown things read as absent; one write stores a
decision once, claims a grant's nonce, returns the first decision to a repeated request id
without claiming anything, and stores a grant whose nonce was taken first as a replay."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from protocol.payloads import AccessDecision
from protocol.reasons import Reason
from server.access.decide import RiderView
from server.access.decision_store import DecisionStore, StationView
from server.access.models import DecisionRecord, UsedNonce
from server.access.repo import prune_used_nonces
from server.core.localtime import as_utc
from server.events.models import Stay
from server.riders.models import Rider
from server.stations.models import Station

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store(engine: Engine) -> Iterator[DecisionStore]:
    with Session(engine) as session:
        session.add(Station(id="st-1", name="one", capacity=8, occupancy=3, passback="enforce"))
        session.add(Rider(id="r-1", link_secret_hash="h1", credential_version=2, created_at=T0))
        session.add(Rider(id="r-2", link_secret_hash="h2", revoked_at=T0, created_at=T0))
        session.add(Stay(station_id="st-1", rider_id="r-1", entered_at=T0))
        session.add(Stay(station_id="st-1", rider_id="r-2", entered_at=T0, ended_at=T0))
        session.add(
            UsedNonce(nonce="n-used", request_id="x" * 32, station_id="st-1", expires_at=T0)
        )
        session.commit()
    made = DecisionStore(engine)
    yield made
    made.close()


def _decision(
    request_id: str, *, allowed: bool = True, rider: str | None = "r-1"
) -> AccessDecision:
    return AccessDecision(
        request_id=request_id,
        station_id="st-1",
        allowed=allowed,
        reason=Reason.GRANTED if allowed else Reason.STATION_FULL,
        rider_id=rider,
        decided_at=T0,
        expires_at=T0 + timedelta(seconds=5),
    )


def test_one_read_gives_every_input(store: DecisionStore) -> None:
    inputs = store.read(station_id="st-1", rider_id="r-1", nonce="n-used")
    assert inputs.station == StationView("st-1", 3, 8, 0.8, None, False, False, None, "enforce")
    assert inputs.rider == RiderView("r-1", 2, False)
    assert inputs.nonce_used is True
    assert inputs.inside_since == T0.timestamp()
    revoked = store.read(station_id="st-1", rider_id="r-2", nonce="n-fresh")
    assert revoked.rider == RiderView("r-2", 1, True)
    assert revoked.nonce_used is False
    assert revoked.inside_since is None  # that stay has ended


def test_unknown_station_rider_and_no_claims_read_as_absent(store: DecisionStore) -> None:
    inputs = store.read(station_id="nowhere", rider_id="nobody", nonce=None)
    assert (inputs.station, inputs.rider, inputs.nonce_used, inputs.inside_since) == (
        None,
        None,
        False,
        None,
    )


def test_a_grant_is_stored_once_with_its_nonce(store: DecisionStore, engine: Engine) -> None:
    request_id = uuid.uuid4().hex
    stored = store.record(
        _decision(request_id),
        nonce="n-1",
        nonce_expires_at=T0 + timedelta(minutes=2),
        flags="near_capacity",
        nearby_station=None,
    )
    assert (stored.allowed, stored.reason, stored.rider_id) == (True, Reason.GRANTED, "r-1")
    with Session(engine) as session:
        record = session.get(DecisionRecord, request_id)
        nonce = session.get(UsedNonce, "n-1")
    assert record is not None
    assert nonce is not None
    assert (record.allowed, record.flags, record.nonce) == (True, "near_capacity", "n-1")
    assert as_utc(record.decided_at) == T0
    assert as_utc(nonce.expires_at) == T0 + timedelta(minutes=2)
    assert nonce.request_id == request_id


def test_a_repeated_request_gets_the_first_decision_and_claims_nothing(
    store: DecisionStore, engine: Engine
) -> None:
    request_id = uuid.uuid4().hex
    first = store.record(
        _decision(request_id, allowed=False),
        nonce="n-2",
        nonce_expires_at=T0,
        flags="",
        nearby_station="two",
    )
    again = store.record(
        _decision(request_id), nonce="n-2", nonce_expires_at=T0, flags="", nearby_station=None
    )
    assert again == first
    assert (again.allowed, again.reason, again.nearby_station) == (
        False,
        Reason.STATION_FULL,
        "two",
    )
    with Session(engine) as session:
        assert session.get(UsedNonce, "n-2") is None  # a denial's nonce stays unclaimed
        rows = session.exec(
            select(DecisionRecord).where(col(DecisionRecord.request_id) == request_id)
        ).all()
    assert len(rows) == 1


def test_a_grant_whose_nonce_was_taken_is_stored_as_a_replay(
    store: DecisionStore, engine: Engine
) -> None:
    request_id = uuid.uuid4().hex
    stored = store.record(
        _decision(request_id), nonce="n-used", nonce_expires_at=T0, flags="", nearby_station=None
    )
    assert (stored.allowed, stored.reason) == (False, Reason.REPLAYED)
    with Session(engine) as session:
        record = session.get(DecisionRecord, request_id)
        nonce = session.get(UsedNonce, "n-used")
    assert record is not None
    assert (record.allowed, record.reason) == (False, "replayed")
    assert nonce is not None
    assert nonce.request_id == "x" * 32


def test_a_broken_connection_fails_one_call_and_the_next_reconnects(
    store: DecisionStore,
) -> None:
    store.read(station_id="st-1", rider_id=None, nonce=None)
    store._local.connection.driver_connection.close()  # as a database restart would
    with pytest.raises((sqlite3.Error, psycopg.Error)):
        store.read(station_id="st-1", rider_id=None, nonce=None)
    assert store.read(station_id="st-1", rider_id=None, nonce=None).station is not None


def test_expired_nonces_are_pruned_in_one_statement(store: DecisionStore, engine: Engine) -> None:
    with Session(engine) as session:
        session.add(
            UsedNonce(nonce="n-later", request_id="y" * 32, station_id="st-1", expires_at=T0 + HOUR)
        )
        session.commit()
        assert prune_used_nonces(session, now=T0 + timedelta(seconds=1)) == 1  # "n-used"
        left = session.exec(select(UsedNonce.nonce)).all()
    assert left == ["n-later"]
