"""The database engine: SQLite in WAL mode by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from server.migrations import apply as migrations


def make_engine(url: str, *, durable_commits: bool = True, pre_ping: bool = True) -> Engine:
    """``durable_commits=False``: commits do not wait for the disk (SQLite: WAL with
    synchronous=NORMAL, and the next durable commit on the file makes them durable too;
    PostgreSQL: synchronous_commit off for the session). Only for writes whose loss in a crash
    is harmless (docs/scaling.md, "Decisions and durability"). ``pre_ping=False`` saves a
    round trip per checkout; a connection found dead fails one transaction and is replaced.
    """
    # hide_parameters: a database error in a log shows the statement, never the values bound
    # to it (a signing key, a session hash, a rider's name).
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: a stored (and acknowledged) event survives a power cut.
            cursor.execute(f"PRAGMA synchronous={'FULL' if durable_commits else 'NORMAL'}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    options = {} if durable_commits else {"options": "-c synchronous_commit=off"}
    return create_engine(url, pool_pre_ping=pre_ping, hide_parameters=True, connect_args=options)


def init_db(engine: Engine) -> None:
    """Bring the database to the newest schema through the migrations (tests, benchmarks,
    tools). The server's start does not: it refuses a database with rows that is behind
    (``server.migrations.apply.prepare``)."""
    migrations.upgrade(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
