"""The stored totals of ``/api/summary`` (events, entries, exits, denials, decisions), kept by
the writers as they store, so reading them costs a few rows however long the history is.

Each writer adds what it really inserted to one row (a shard) in the same transaction as the
rows it counts: the totals are exact at every commit. Writers spread over shards (several
server processes, several access-worker threads) so that they seldom wait for each other's
row lock; the reader sums the shards. Event batches and decisions use separate shards: an
event batch holds its shard's lock to its commit, a decision must not wait for one.

Whatever deletes or plants events or decisions without these writers (a retention job, a
bulk fill) must subtract what it deletes or call ``recount``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Executable,
    SmallInteger,
    Table,
    func,
    literal_column,
)
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from protocol.payloads import EventKind, Passage
from server.access.models import DecisionRecord
from server.events.models import EventRecord

EVENT_SHARDS = range(0, 8)  # event batches: a few consumer lanes per process
DECISION_SHARDS = range(8, 72)  # decisions: many access-worker threads, one statement each
COUNTED = ("events", "entries", "exits", "denials", "decisions")


def _counter() -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class Tally(SQLModel, table=True):
    """One shard's part of the totals; a row is made by the first write that uses it."""

    __tablename__ = "tally"

    # Not autoincrement: writers choose the shard (PostgreSQL would make a SMALLSERIAL).
    shard: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    events: int = _counter()
    entries: int = _counter()
    exits: int = _counter()
    denials: int = _counter()
    decisions: int = _counter()


_TALLY: Table = Tally.__table__  # type: ignore[attr-defined]
_EVENT: Table = EventRecord.__table__  # type: ignore[attr-defined]
_DECISION: Table = DecisionRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Counts:
    events: int = 0
    entries: int = 0
    exits: int = 0
    denials: int = 0
    decisions: int = 0


def counted_as(row: Mapping[str, object]) -> str | None:
    """Which of the totals an event row adds to besides ``events`` (``entries``, ``exits``,
    ``denials``), or None: the filters ``/api/summary`` always had."""
    if row["kind"] == EventKind.DOOR_OPENED.value:
        if row["passage"] == Passage.ENTRY.value:
            return "entries"
        if row["passage"] == Passage.EXIT.value:
            return "exits"
    elif row["kind"] == EventKind.ACCESS_DENIED.value:
        return "denials"
    return None


def event_counts(inserted: Mapping[str | None, int]) -> Counts:
    """The counts of event rows really inserted, by ``counted_as``."""
    return Counts(
        events=sum(inserted.values()),
        entries=inserted.get("entries", 0),
        exits=inserted.get("exits", 0),
        denials=inserted.get("denials", 0),
    )


def add(connection: Connection, counts: Counts) -> None:
    """Add the counts to a random event shard in one upsert, in the caller's transaction: its
    last write before the commit (the row's lock is held to the commit, and taken after every
    other lock the writer needs, so no two writers wait on each other in a cycle). Nothing
    counted writes nothing."""
    if counts == Counts():
        return
    shard = random.randrange(EVENT_SHARDS.start, EVENT_SHARDS.stop)
    connection.execute(_upsert(connection.dialect.name), {"shard": shard, **asdict(counts)})


@cache
def _upsert(dialect: str) -> Executable:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_TALLY)
    return insert.on_conflict_do_update(
        index_elements=[_TALLY.c.shard],
        set_={name: _TALLY.c[name] + insert.excluded[name] for name in COUNTED},
    )


def totals(session: Session) -> Counts:
    """The shards summed: one small aggregate (at most 72 rows)."""
    row = session.execute(
        sql_select(*(func.coalesce(func.sum(_TALLY.c[name]), 0) for name in COUNTED))
    ).one()
    return Counts(*(int(value) for value in row))  # PostgreSQL's sum(bigint) is numeric


def recount(connection: Connection) -> None:
    """Rebuild the totals from the tables (one row, shard 0), in the caller's transaction: after
    rows were planted or deleted behind the writers' backs. On PostgreSQL the table is locked
    first, so a writer storing meanwhile either committed before (and is counted) or adds its
    own counts after (its rows were not yet visible); on SQLite the DELETE takes the one write
    lock before the counts are read."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE tally IN EXCLUSIVE MODE")
    connection.execute(_TALLY.delete())
    e = _EVENT.c
    door_opened = e.kind == EventKind.DOOR_OPENED.value
    counted = sql_select(
        literal_column("0"),
        func.count(),
        func.count().filter(door_opened, e.passage == Passage.ENTRY.value),
        func.count().filter(door_opened, e.passage == Passage.EXIT.value),
        func.count().filter(e.kind == EventKind.ACCESS_DENIED.value),
        sql_select(func.count()).select_from(_DECISION).scalar_subquery(),
    ).select_from(_EVENT)
    connection.execute(_TALLY.insert().from_select(["shard", *COUNTED], counted))
