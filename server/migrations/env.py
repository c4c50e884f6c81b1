"""Alembic's environment: the models of ``server.schema`` on the caller's connection (see
``apply.alembic_config``), or the database of the server's settings (``python -m
server.migrations``). SQLite alters tables in batch mode (copy and move)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from server import schema
from server.core.db import make_engine
from server.core.settings import ServerSettings


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given: Connection | None = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    settings = ServerSettings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them on a database")
_main()
