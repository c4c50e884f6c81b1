"""One access decision's database work in two round trips, on a connection the calling access
worker keeps for itself: one query reads everything the decision needs (the station's rules
and count, the rider, whether the code's nonce is used, the rider's open stay here), and one
statement stores the decision, for a grant claims the nonce, and adds the decision to the
stored totals (on SQLite, a few statements in one transaction: the calls stay in the process).

Plain DBAPI (psycopg or sqlite3) with fixed statement texts: the driver keeps them prepared
(psycopg prepares a statement it has run five times; sqlite3 caches compiled statements) and
no ORM object is made. The tables are the ORM's (``server.access.models`` and others); the
values written here are the ones SQLAlchemy would write (SQLite: UTC times as text, booleans
as 0/1).

A repeated request id gets the decision stored first, and claims no nonce. A grant that loses
the race for its nonce (the same code at two stations at once) is stored as a replay denial.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

from protocol.payloads import AccessDecision
from protocol.reasons import Reason
from server.access.decide import RiderView
from server.reports.tally import DECISION_SHARDS

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's DateTime on SQLite: naive UTC text

# Everything a decision reads, in one query. The stations' and riders' rows are joined to a
# single row so that an unknown station or rider reads as NULLs, not as no row.
_READ = """
SELECT s.id, s.occupancy, s.capacity, s.soft_limit, s.opening_hours, s.lockdown,
       s.maintenance, s.emergency, s.passback,
       r.id, r.credential_version, r.revoked_at,
       EXISTS (SELECT 1 FROM used_nonce WHERE nonce = :nonce),
       (SELECT st.entered_at FROM stay AS st
         WHERE st.rider_id = :rider AND st.station_id = :station AND st.ended_at IS NULL
         LIMIT 1)
FROM (SELECT 1 AS one) AS one
LEFT JOIN station AS s ON s.id = :station
LEFT JOIN rider AS r ON r.id = :rider
"""

_STORED = "SELECT allowed, reason, rider_id, nearby_station FROM decision WHERE request_id = :rid"

# PostgreSQL: the decision, the nonce's claim and the decisions' total in one statement (one
# implicit transaction). The claim is skipped for a request id already decided; a grant whose
# claim finds the nonce taken is stored as a replay. A request id decided meanwhile by another
# worker inserts nothing and returns no row: the caller then reads the stored decision. The
# total (``server.reports.tally``) counts only a decision really inserted.
_RECORD_PG = """
WITH prior AS (SELECT 1 FROM decision WHERE request_id = :rid),
claimed AS (
  INSERT INTO used_nonce (nonce, request_id, station_id, expires_at)
  SELECT :nonce, :rid, :station, :nonce_expires_at
  WHERE :claim AND NOT EXISTS (SELECT 1 FROM prior)
  ON CONFLICT DO NOTHING
  RETURNING nonce
),
stored AS (
  INSERT INTO decision
    (request_id, station_id, rider_id, allowed, reason, nonce, flags, nearby_station, decided_at)
  SELECT :rid, :station, :rider,
         CASE WHEN :claim AND NOT EXISTS (SELECT 1 FROM claimed) THEN false ELSE :allowed END,
         CASE WHEN :claim AND NOT EXISTS (SELECT 1 FROM claimed) THEN :replayed ELSE :reason END,
         :nonce, :flags, :nearby, :decided_at
  WHERE NOT EXISTS (SELECT 1 FROM prior)
  ON CONFLICT (request_id) DO NOTHING
  RETURNING allowed, reason, rider_id, nearby_station
),
bumped AS (
  INSERT INTO tally (shard, decisions)
  SELECT CAST(:shard AS smallint), 1 WHERE EXISTS (SELECT 1 FROM stored)
  ON CONFLICT (shard) DO UPDATE SET decisions = tally.decisions + 1
)
SELECT allowed, reason, rider_id, nearby_station FROM stored
"""

_PRIOR_SQLITE = "SELECT 1 FROM decision WHERE request_id = :rid"
_CLAIM_SQLITE = """
INSERT INTO used_nonce (nonce, request_id, station_id, expires_at)
VALUES (:nonce, :rid, :station, :nonce_expires_at) ON CONFLICT DO NOTHING
"""
_INSERT_SQLITE = """
INSERT INTO decision
  (request_id, station_id, rider_id, allowed, reason, nonce, flags, nearby_station, decided_at)
VALUES (:rid, :station, :rider, :allowed, :reason, :nonce, :flags, :nearby, :decided_at)
"""
_BUMP_SQLITE = """
INSERT INTO tally (shard, decisions) VALUES (:shard, 1)
ON CONFLICT (shard) DO UPDATE SET decisions = tally.decisions + 1
"""


def _pyformat(sql: str, names: tuple[str, ...]) -> str:
    """``:name`` placeholders as psycopg's ``%(name)s`` (longest names first)."""
    for name in sorted(names, key=len, reverse=True):
        sql = sql.replace(f":{name}", f"%({name})s")
    return sql


_PG_READ = _pyformat(_READ, ("nonce", "rider", "station"))
_PG_STORED = _pyformat(_STORED, ("rid",))
_PG_RECORD = _pyformat(
    _RECORD_PG,
    (
        "rid",
        "nonce",
        "station",
        "nonce_expires_at",
        "claim",
        "rider",
        "allowed",
        "replayed",
        "reason",
        "flags",
        "nearby",
        "decided_at",
        "shard",
    ),
)


@dataclass(frozen=True, slots=True)
class StationView:
    """The station's columns a decision reads (``server.stations.rules.rules_from``)."""

    station_id: str
    occupancy: int
    capacity: int
    soft_limit: float
    opening_hours: str | None
    lockdown: bool
    maintenance: bool
    emergency: str | None
    passback: str


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    station: StationView | None
    rider: RiderView | None
    nonce_used: bool
    inside_since: float | None  # the rider's open stay at this station, epoch seconds


@dataclass(frozen=True, slots=True)
class StoredDecision:
    allowed: bool
    reason: Reason
    rider_id: str | None
    nearby_station: str | None


class DecisionStore:
    """The decisions' database, one DBAPI connection per thread that uses it.

    The connection comes from ``engine``'s pool once and is kept (autocommit: a read opens
    no transaction); one that fails is dropped and the next decision opens a new one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._local = threading.local()
        self._opened: list[PoolProxiedConnection] = []
        self._opened_lock = threading.Lock()

    # -- the two round trips ---------------------------------------------------------------
    def read(self, *, station_id: str, rider_id: str | None, nonce: str | None) -> DecisionInputs:
        params = {"station": station_id, "rider": rider_id, "nonce": nonce}
        row = self._run(lambda c: self._fetchone(c, _PG_READ if self._postgres else _READ, params))
        assert row is not None  # one row whatever matches
        (sid, occupancy, capacity, soft_limit, hours, lockdown, maintenance, emergency) = row[:8]
        station = None
        if sid is not None:
            station = StationView(
                sid,
                occupancy,
                capacity,
                soft_limit,
                hours,
                bool(lockdown),
                bool(maintenance),
                emergency,
                row[8],
            )
        rider = None
        if row[9] is not None:
            rider = RiderView(row[9], row[10], row[11] is not None)
        return DecisionInputs(station, rider, bool(row[12]), _epoch(row[13]))

    def record(
        self,
        decision: AccessDecision,
        *,
        nonce: str | None,
        nonce_expires_at: datetime | None,
        flags: str,
        nearby_station: str | None,
    ) -> StoredDecision:
        """Store the decision once (claiming the nonce of a grant); what is stored comes back."""
        claim = decision.allowed and nonce is not None and nonce_expires_at is not None
        params: dict[str, Any] = {
            "rid": decision.request_id,
            "station": decision.station_id,
            "rider": decision.rider_id,
            "allowed": decision.allowed,
            "reason": decision.reason.value,
            "replayed": Reason.REPLAYED.value,
            "nonce": nonce,
            "nonce_expires_at": nonce_expires_at,
            "claim": claim,
            "flags": flags,
            "nearby": nearby_station,
            "decided_at": decision.decided_at,
            # A shard of the decisions' total per call: threads and processes seldom meet.
            "shard": random.randrange(DECISION_SHARDS.start, DECISION_SHARDS.stop),
        }
        if self._postgres:
            row = self._run(lambda c: self._fetchone(c, _PG_RECORD, params))
            if row is None:  # decided before: what was stored then
                row = self._run(lambda c: self._fetchone(c, _PG_STORED, params))
        else:
            row = self._run(lambda c: self._record_sqlite(c, params))
        assert row is not None
        return StoredDecision(bool(row[0]), Reason(row[1]), row[2], row[3])

    # -- connections -----------------------------------------------------------------------
    def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.invalidate()  # autocommit was changed: not for the pool's other users

    def _connection(self) -> Any:
        proxied: PoolProxiedConnection | None = getattr(self._local, "connection", None)
        if proxied is None:
            proxied = self._engine.raw_connection()
            driver = proxied.driver_connection
            if self._postgres:
                driver.autocommit = True  # type: ignore[union-attr]
            else:
                driver.isolation_level = None  # type: ignore[union-attr]  # we say BEGIN
            self._local.connection = proxied
            with self._opened_lock:
                self._opened.append(proxied)
        return proxied.driver_connection

    def _run(self, work: Any) -> Any:
        connection = self._connection()
        try:
            return work(connection)
        except Exception:
            self._drop()
            raise

    def _drop(self) -> None:
        proxied: PoolProxiedConnection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if proxied is not None:
            with self._opened_lock:
                if proxied in self._opened:
                    self._opened.remove(proxied)
            proxied.invalidate()

    @staticmethod
    def _fetchone(connection: Any, sql: str, params: dict[str, Any]) -> Any:
        cursor = connection.execute(sql, params)
        return cursor.fetchone()

    @staticmethod
    def _record_sqlite(connection: Any, params: dict[str, Any]) -> Any:
        values = {
            **params,
            "allowed": int(params["allowed"]),
            "decided_at": _sqlite_time(params["decided_at"]),
            "nonce_expires_at": _sqlite_time(params["nonce_expires_at"]),
        }
        connection.execute("BEGIN IMMEDIATE")  # the write lock now: no upgrade to wait for
        try:
            if connection.execute(_PRIOR_SQLITE, values).fetchone() is not None:
                connection.execute("ROLLBACK")
                return connection.execute(_STORED, values).fetchone()
            if values["claim"]:
                claimed = connection.execute(_CLAIM_SQLITE, values).rowcount == 1
                if not claimed:  # the nonce was claimed first elsewhere
                    values["allowed"], values["reason"] = 0, Reason.REPLAYED.value
            connection.execute(_INSERT_SQLITE, values)
            connection.execute(_BUMP_SQLITE, values)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return (values["allowed"], values["reason"], values["rider"], values["nearby"])


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(_SQLITE_TIME)


def _epoch(value: datetime | str | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: naive UTC text
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()
