"""The database engine: SQLite in WAL mode by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from server import schema


def make_engine(url: str) -> Engine:
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
            cursor.execute("PRAGMA synchronous=FULL")  # a stored event survives a power cut
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def init_db(engine: Engine) -> None:
    """Create the tables that are missing (every table is listed in ``server.schema``), and
    the indexes missing on tables that already existed (an index added in a later version)."""
    schema.metadata.create_all(engine)
    with engine.begin() as connection:
        for table in schema.metadata.sorted_tables:
            for index in table.indexes:
                index.create(connection, checkfirst=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
