"""The server's schema migrations on real SQLite and PostgreSQL: from empty to head, rows kept
across upgrades and downgrades, the models and the migrations agree, a database made before
migrations is adopted, and the server refuses a schema it does not run on, saying what to run.

A test revision (``later_revision``) chains after the real head, so "behind" and "rows kept
across an upgrade" are exercised for real even while the baseline is the only revision."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, MetaData, inspect, text
from sqlmodel import Session

from protocol.payloads import Heartbeat
from server.core.db import make_engine
from server.core.settings import ServerSettings
from server.main import check_can_start
from server.migrations import apply
from server.migrations.apply import (
    BASELINE,
    SchemaNotCurrentError,
    current_revision,
    downgrade,
    prepare,
    upgrade,
)
from server.migrations.plan import MIGRATE_COMMAND
from server.reports.repo import summary
from server.stations.liveness import record_heartbeats
from tests.support.fleet import provision_fleet

LATER = "9001_test_later"
LATER_SCRIPT = '''"""A test revision after the real head: a column added to the audit table."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit") as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(20), nullable=True))


def downgrade():
    with op.batch_alter_table("audit") as batch_op:
        batch_op.drop_column("note")
'''


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def later_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The migrations as shipped plus one later test revision; returns its id."""
    head = apply.head_revision()
    copy = tmp_path / "migrations"
    shutil.copytree(
        apply.SCRIPT_LOCATION, copy, ignore=shutil.ignore_patterns("__pycache__", "__init__.py")
    )
    script = LATER_SCRIPT.format(revision=LATER, head=head)
    (copy / "versions" / f"{LATER}.py").write_text(script, encoding="utf-8")
    monkeypatch.setattr(apply, "SCRIPT_LOCATION", copy)
    return LATER


def _sample(column: sa.Column[Any]) -> object:
    """A value fitting the reflected column's type."""
    kind = column.type
    if isinstance(kind, sa.Enum) and kind.enums:
        return kind.enums[0]
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return 7
    if isinstance(kind, sa.Float):
        return 1.5
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 2, 17, 8, 30, tzinfo=UTC)
    if isinstance(kind, sa.String):
        return column.name[: kind.length or 64]
    raise AssertionError(f"no sample for {column.table.name}.{column.name}: {kind!r}")


def _normal(value: object) -> object:
    """SQLite hands back naive UTC, PostgreSQL aware: compare them as naive UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _fill_every_table(engine: Engine) -> dict[str, dict[str, object]]:
    """One row in every table of the schema as it is now; returns them by table."""
    tables = MetaData()
    tables.reflect(engine)
    rows: dict[str, dict[str, object]] = {}
    with engine.begin() as connection:
        for table in tables.sorted_tables:
            if table.name == apply.VERSION_TABLE:
                continue
            row = {column.name: _sample(column) for column in table.columns}
            connection.execute(table.insert().values(row))
            rows[table.name] = row
    return rows


def _assert_rows_kept(engine: Engine, rows: dict[str, dict[str, object]]) -> None:
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        for name, row in rows.items():
            table = tables.tables[name]
            found = connection.execute(sa.select(*(table.c[c] for c in row))).mappings().all()
            assert [{k: _normal(v) for k, v in r.items()} for r in found] == [
                {k: _normal(v) for k, v in row.items()}
            ], name


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_an_empty_database_reaches_head_and_agrees_with_the_models(database: Engine) -> None:
    prepare(database)  # what the server's start does
    assert current_revision(database) == apply.head_revision()
    assert apply.differences(database) == []  # autogenerate would find nothing to do


def test_rows_stored_at_the_baseline_survive_upgrade_and_downgrade(
    database: Engine, later_revision: str
) -> None:
    upgrade(database, BASELINE)
    rows = _fill_every_table(database)
    assert len(rows) >= 16  # every table of the baseline
    upgrade(database)
    assert current_revision(database) == later_revision
    _assert_rows_kept(database, rows)
    with database.connect() as connection:
        assert "note" in {c["name"] for c in inspect(connection).get_columns("audit")}
    downgrade(database, BASELINE)
    assert current_revision(database) == BASELINE
    _assert_rows_kept(database, rows)


def test_downgrade_to_base_removes_everything_and_upgrade_works_again(database: Engine) -> None:
    upgrade(database)
    downgrade(database, "base")
    assert _tables(database) <= {apply.VERSION_TABLE}
    assert current_revision(database) is None
    if database.dialect.name == "postgresql":
        with database.connect() as connection:
            types = connection.execute(text("SELECT typname FROM pg_type")).scalars().all()
        assert not {"platform", "role"} & set(types)  # enum types go with their tables
    upgrade(database)
    assert current_revision(database) == apply.head_revision()


def test_the_totals_are_counted_from_the_rows_stored_before(database: Engine) -> None:
    """0009 makes the summary's totals (``server.reports.tally``) from the rows it finds."""
    upgrade(database, "0008_station_finder")
    tables = MetaData()
    tables.reflect(database)
    event, decision = tables.tables["event"], tables.tables["decision"]
    shapes = [("door_opened", "entry")] * 3 + [("door_opened", "exit")] * 2
    shapes += [("door_opened", "unknown"), ("access_denied", None), ("door_closed", None)]
    sample = {column.name: _sample(column) for column in event.columns}
    events = [
        sample | {"event_id": f"{seq:032x}", "seq": seq, "kind": kind, "passage": passage}
        for seq, (kind, passage) in enumerate(shapes)
    ]
    sample = {column.name: _sample(column) for column in decision.columns}
    decisions = [sample | {"request_id": f"{n:032x}"} for n in range(2)]
    with database.begin() as connection:
        connection.execute(event.insert(), events)
        connection.execute(decision.insert(), decisions)
    upgrade(database)
    with Session(database) as session:
        tally = session.execute(text("SELECT * FROM tally")).all()
        totals = summary(session)
    assert [tuple(row) for row in tally] == [(0, 8, 3, 2, 1, 2)]
    said = (totals.events_stored, totals.entries, totals.exits, totals.denials, totals.decisions)
    assert said == (8, 3, 2, 1, 2)
    downgrade(database, "0008_station_finder")
    assert "tally" not in _tables(database)


def _page_room(engine: Engine) -> dict[str, list[str] | None]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT relname, reloptions FROM pg_class"
                " WHERE relname IN ('station', 'event_stream') AND relkind = 'r'"
            )
        )
        return {name: options for name, options in rows}


def _heap_pages(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        pages = connection.execute(text("SELECT pg_relation_size(:t) / 8192"), {"t": table})
        return int(pages.scalar_one())


def test_the_rows_updated_all_day_are_updated_in_place_on_postgresql(
    postgres_url: str,
) -> None:
    """0010 leaves room on each page of station and event_stream, so that a heartbeat's new
    version of its station's row stays on its page: the table does not grow with the
    heartbeats, even where nothing vacuums it."""
    engine = make_engine(postgres_url)
    try:
        upgrade(engine, "0009_tally")
        assert _page_room(engine) == {"station": None, "event_stream": None}
        upgrade(engine)
        assert _page_room(engine) == {
            "station": ["fillfactor=50"],
            "event_stream": ["fillfactor=50"],
        }
        provision_fleet(engine, 400, prefix="ff")
        stations = sorted(f"ff-{n:06d}" for n in range(400))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ALTER TABLE station SET (autovacuum_enabled = false)"))
        first = _heap_pages(engine, "station")
        for round_ in range(8):
            beats = [
                Heartbeat(
                    station_id=station_id,
                    session_id="s",
                    sent_at=datetime.now(UTC),
                    interval_s=60,
                    camera_ok=True,
                    outbox_depth=round_,
                    config_version=1,
                )
                for station_id in stations
            ]
            with Session(engine) as session:
                record_heartbeats(session, heartbeats=beats, now=datetime.now(UTC))
                session.commit()
        # Packed full (the default), 8 rounds grew it about 5 times (measured); in place, the
        # pages fill once with new versions and are then pruned as they fill again.
        assert _heap_pages(engine, "station") <= first * 1.5
        downgrade(engine, "0009_tally")
        assert _page_room(engine) == {
            "station": ["autovacuum_enabled=false"],  # (this test's own)
            "event_stream": None,
        }
    finally:
        engine.dispose()


def _made_before_migrations(engine: Engine) -> dict[str, dict[str, object]]:
    """What a deployment has today: the baseline's tables, with rows, and no revision."""
    upgrade(engine, BASELINE)
    rows = _fill_every_table(engine)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {apply.VERSION_TABLE}"))
    return rows


def test_tables_made_before_migrations_are_stamped_as_baseline(
    database: Engine, later_revision: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = _made_before_migrations(database)
    caplog.set_level(logging.WARNING, logger="server.migrations")
    with pytest.raises(SchemaNotCurrentError, match=MIGRATE_COMMAND):
        prepare(database)  # adopted, then refused: it is behind the later revision
    assert current_revision(database) == BASELINE
    assert "recorded as baseline" in caplog.text
    prepare(database, auto_migrate=True)
    assert current_revision(database) == later_revision
    _assert_rows_kept(database, rows)


def test_tables_that_are_not_the_baseline_are_refused_and_left_alone(database: Engine) -> None:
    _made_before_migrations(database)
    with database.begin() as connection:
        connection.execute(text("DROP TABLE stay"))
        connection.execute(text("CREATE TABLE something_else (id INTEGER PRIMARY KEY)"))
    with pytest.raises(SchemaNotCurrentError) as refused:
        prepare(database, auto_migrate=True)
    assert "table stay missing" in str(refused.value)
    assert "table something_else unexpected" in str(refused.value)
    assert current_revision(database) is None
    assert apply.VERSION_TABLE not in _tables(database)


def test_the_server_refuses_a_database_behind_and_names_the_command(
    tmp_path: Path, later_revision: str
) -> None:
    settings = ServerSettings(data_dir=tmp_path, demo_mode=True)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine, BASELINE)
    _fill_every_table(engine)
    with pytest.raises(SchemaNotCurrentError) as refused:
        check_can_start(settings, engine)
    assert f"revision '{BASELINE}'" in str(refused.value)
    assert f"needs '{later_revision}'" in str(refused.value)
    assert MIGRATE_COMMAND in str(refused.value)
    assert current_revision(engine) == BASELINE  # never migrated silently
    check_can_start(ServerSettings(data_dir=tmp_path, demo_mode=True, auto_migrate=True), engine)
    assert current_revision(engine) == later_revision
    engine.dispose()


def test_auto_migrate_is_refused_outside_demo_mode() -> None:
    settings = ServerSettings(audience="ws-test", auto_migrate=True)
    assert any("WS_SERVER_AUTO_MIGRATE" in found for found in settings.unsafe_defaults())


def _run(module: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WS_SERVER_")}
    env.update(WS_SERVER_DATA_DIR=str(data_dir), WS_SERVER_DEMO_MODE="true")
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_server_refuses_a_database_from_a_newer_version(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'warm_station.db'}")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    result = _run("server", tmp_path)
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert "server: the database is at schema revision '9999_future'" in line
    assert "newer version" in line


def test_cli_migrate_adopts_and_upgrades_a_database_made_before_migrations(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'warm_station.db'}")
    rows = _made_before_migrations(engine)
    result = _run("server.cli", tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    said = json.loads(result.stdout)
    assert said == {"schema_before": None, "schema_now": apply.head_revision()}
    _assert_rows_kept(engine, rows)
    engine.dispose()


def test_cli_migrate_refuses_tables_it_does_not_know(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'warm_station.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE something_else (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    result = _run("server.cli", tmp_path, "migrate")
    assert result.returncode == 1
    assert result.stderr.startswith("error: the database has tables but no schema revision")
    assert result.stdout == ""


def test_workers_starting_together_on_a_new_database_all_start(postgres_url: str) -> None:
    """One creates the schema while the others wait (an advisory lock)."""
    database = make_engine(postgres_url)
    start = threading.Barrier(4)

    def start_worker() -> None:
        start.wait()
        prepare(database)

    with ThreadPoolExecutor(4) as pool:
        for started in [pool.submit(start_worker) for _ in range(4)]:
            started.result()
    assert current_revision(database) == apply.head_revision()
    database.dispose()
