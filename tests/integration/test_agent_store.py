"""The station agent's SQLite store across versions, on real files: an old store with rows
is upgraded keeping every one, a store from a newer agent is refused untouched, and each
migration commits with its version number or not at all."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from station_agent.adapters.store_sqlite import MIGRATIONS, AgentStore, StoreError

NEWEST = len(MIGRATIONS)
PINS = {"k1": "MCowBQYDK2VwAyEAold", "k2": "MCowBQYDK2VwAyEAnew"}


def _build(path: Path, version: int) -> None:
    """A store as the agent of that schema version left it, with rows in every table it had."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        for script in MIGRATIONS[:version]:
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
        db.execute("INSERT INTO replay VALUES (?, ?)", (b"nonce-1", 5_000.0))
        if version >= 2:
            db.execute("UPDATE meta SET value = 'feedfacecafebeef' WHERE key = 'epoch'")
            db.execute("UPDATE meta SET value = '42' WHERE key = 'last_seq'")
            db.execute("INSERT INTO meta VALUES ('control_keys', ?)", (json.dumps(PINS),))
            db.executemany(
                "INSERT INTO outbox VALUES (?, ?)", [(41, b'{"seq":41}'), (42, b'{"seq":42}')]
            )
        if version >= 3:
            db.execute("INSERT INTO trust_page VALUES ('keys', ?)", (b"signed-keys",))


def _version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version


@pytest.mark.parametrize("version", range(1, NEWEST))
def test_an_older_store_with_rows_is_upgraded_keeping_every_row(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "agent.db"
    _build(path, version)
    store = AgentStore(path)
    assert store.schema_version == NEWEST
    assert store.seen(b"nonce-1", now=4_000.0)  # the replay cache (since version 1)
    if version >= 2:
        assert store.epoch == "feedfacecafebeef"
        assert store.last_seq == 42
        assert store.pending() == [(41, b'{"seq":41}'), (42, b'{"seq":42}')]
        assert store.pinned_control_keys() == PINS
    else:
        assert store.pending() == []  # the outbox starts empty, numbered from 1
        assert store.last_seq == 0
    assert store.trust_pages() == ({"keys": b"signed-keys"} if version >= 3 else {})
    store.close()


def test_a_store_from_a_newer_agent_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    _build(path, NEWEST)
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {NEWEST + 1}")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match=rf"schema {NEWEST + 1}, newer than this agent knows"):
        AgentStore(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert _version(path) == NEWEST + 1


def test_a_failing_migration_leaves_the_store_at_the_version_before(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    _build(path, 1)
    failing = "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1)"
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        AgentStore(path, migrations=(*MIGRATIONS, failing))
    assert _version(path) == NEWEST  # the real migrations committed, one by one
    with closing(sqlite3.connect(path)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables  # the failing one left nothing behind
        assert db.execute("SELECT count(*) FROM replay").fetchone()[0] == 1
    store = AgentStore(path)  # this release opens it as if nothing had happened
    assert store.seen(b"nonce-1", now=4_000.0)
    store.close()
