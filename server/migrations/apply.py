"""Alembic driven from code: the script location is this package (any working directory, an
installed package), the connection is the caller's. The start check is ``prepare``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from server import schema
from server.migrations.plan import Step, plan_start

log = logging.getLogger(__name__)

BASELINE = "0001_baseline"
VERSION_TABLE = "alembic_version"
MIGRATION_LOCK_KEY = 0x5753_4D49_4752  # "WSMIGR": any fixed 64-bit number of our own
SCRIPT_LOCATION = Path(__file__).parent  # env.py, script.py.mako, versions/


class SchemaNotCurrentError(RuntimeError):
    """The database's schema is not the one this server runs on; the message says what to do."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Without a connection, ``env.py`` opens the database of the server's settings."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "server/migrations/versions has no revision"
    return head


def known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """In one transaction on PostgreSQL (transactional DDL); SQLite commits DDL as it goes."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def stamp(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.stamp(alembic_config(connection), revision)


def differences(engine: Engine) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models
    (empty: they agree)."""
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), schema.metadata))


def _shape(connection: Connection) -> dict[str, set[str]]:
    """Each table's column, index and unique constraint names: the same on SQLite and
    PostgreSQL (which also lists a unique constraint's own index: left out)."""
    found = inspect(connection)
    return {
        table: {column["name"] for column in found.get_columns(table)}
        | {
            f"index {index['name']}"
            for index in found.get_indexes(table)
            if "duplicates_constraint" not in index
        }
        | {f"unique {unique['name']}" for unique in found.get_unique_constraints(table)}
        for table in found.get_table_names()
        if table != VERSION_TABLE
    }


def baseline_differences(engine: Engine) -> list[str]:
    """How this database's tables differ from what the baseline revision makes (built in a
    scratch in-memory SQLite database, so the comparison follows the migration itself)."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            command.upgrade(alembic_config(connection), BASELINE)
            expected = _shape(connection)
    finally:
        scratch.dispose()
    with engine.connect() as connection:
        actual = _shape(connection)
    found: list[str] = []
    for table in sorted(expected.keys() - actual.keys()):
        found.append(f"table {table} missing")
    for table in sorted(actual.keys() - expected.keys()):
        found.append(f"table {table} unexpected")
    for table in sorted(expected.keys() & actual.keys()):
        for name in sorted(expected[table] - actual[table]):
            found.append(f"{table}: {name} missing")
        for name in sorted(actual[table] - expected[table]):
            found.append(f"{table}: {name} unexpected")
    return found


@contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[None]:
    """Server workers starting together on a new PostgreSQL database: one creates the schema,
    the others wait for it and then find it at head (a session-level advisory lock)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})


def prepare(engine: Engine, *, auto_migrate: bool = False) -> None:
    """Make sure the database is at the newest revision before the server uses it, or raise
    ``SchemaNotCurrentError`` saying what to run (``plan.plan_start`` decides)."""
    with _one_at_a_time(engine):
        _prepare(engine, auto_migrate=auto_migrate)


def _prepare(engine: Engine, *, auto_migrate: bool) -> None:
    head = head_revision()
    while True:
        found = current_revision(engine)
        has_tables = found is not None
        if not has_tables:
            with engine.connect() as connection:
                has_tables = bool(inspect(connection).get_table_names())
        plan = plan_start(
            found=found,
            head=head,
            known=known_revisions(),
            has_tables=has_tables,
            baseline_differences=(
                baseline_differences(engine) if found is None and has_tables else None
            ),
            auto_migrate=auto_migrate,
        )
        if plan.step is Step.NOTHING:
            return
        if plan.step is Step.REFUSE:
            raise SchemaNotCurrentError(plan.why)
        # A first start creating its schema is routine; adopting or upgrading one is not.
        log.log(logging.DEBUG if found is None and not has_tables else logging.WARNING, plan.why)
        if plan.step is Step.STAMP_BASELINE:
            stamp(engine, BASELINE)  # then planned again: upgraded, or refused as behind
        else:
            upgrade(engine)
