"""The agent's durable state in one SQLite file: WAL, synchronous=FULL, versioned schema.

Migrations run in order, each in one transaction, and record themselves in ``user_version``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from protocol.payloads import StationEvent, dump

MIGRATIONS: tuple[str, ...] = (
    # 1: tokens that have admitted someone here, kept until they could no longer be valid.
    """
    CREATE TABLE replay (
        nonce BLOB PRIMARY KEY,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX replay_expiry ON replay (expires_at);
    """,
    # 2: the outbox. A row leaves only when the server has acknowledged storing it.
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('epoch', lower(hex(randomblob(8))));
    INSERT INTO meta (key, value) VALUES ('last_seq', '0');
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        payload BLOB NOT NULL
    );
    """,
    # 3: the trust pages last verified (keys, denylist buckets), so a station that restarts
    # while the server is out of reach still checks codes and its denylist.
    """
    CREATE TABLE trust_page (
        name TEXT PRIMARY KEY,
        payload BLOB NOT NULL
    ) WITHOUT ROWID;
    """,
)


class StoreError(RuntimeError):
    """The store's file is from a newer agent or cannot be used."""


class AgentStore:
    def __init__(self, path: Path, *, migrations: Sequence[str] = MIGRATIONS) -> None:
        """``migrations``: the schema's history (tests inject a failing one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._migrations = migrations
        # The agent's loop is the only user after start-up; the lock guards the odd exception.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        try:
            self._refuse_newer()  # before anything is written to the file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self.epoch: str = self._meta("epoch")
            self._last_seq = int(self._meta("last_seq"))
        except BaseException:
            self._db.close()
            raise

    @property
    def schema_version(self) -> int:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _refuse_newer(self) -> None:
        current = self.schema_version
        if current > len(self._migrations):
            raise StoreError(
                f"{self.path} has schema {current}, newer than this agent knows"
                f" ({len(self._migrations)}): a newer release wrote it; run that release"
                ' (update-station --to NAME; docs/operations.md, "Station store")'
            )

    def _migrate(self) -> None:
        """Each migration and its version number commit together, or neither does."""
        current = self.schema_version
        for version, script in enumerate(self._migrations[current:], start=current + 1):
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in filter(str.strip, script.split(";")):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {version}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, key: str) -> str:
        value: str = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
        return value

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (fsync'd, synchronous=FULL) when the block ends."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- the replay cache --------------------------------------------------------------
    def seen(self, nonce: bytes, now: float) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM replay WHERE nonce = ? AND expires_at >= ?", (nonce, now)
            ).fetchone()
        return row is not None

    def remember(self, nonce: bytes, expires_at: float, now: float) -> None:
        with self._transaction() as db:
            self._remember(db, nonce, expires_at, now)

    @staticmethod
    def _remember(db: sqlite3.Connection, nonce: bytes, expires_at: float, now: float) -> None:
        db.execute("DELETE FROM replay WHERE expires_at < ?", (now,))
        db.execute(
            "INSERT OR REPLACE INTO replay (nonce, expires_at) VALUES (?, ?)", (nonce, expires_at)
        )

    # -- the outbox --------------------------------------------------------------------
    def append_event(self, build: Callable[[str, int], StationEvent]) -> StationEvent:
        """Number the event (``build(epoch, seq)``) and commit it to the outbox."""
        with self._transaction() as db:
            return self._append(db, build)

    def record_grant(
        self,
        nonce: bytes,
        expires_at: float,
        now: float,
        build: Callable[[str, int], StationEvent],
    ) -> StationEvent:
        """The used nonce and the grant event in one transaction, before the door opens:
        after a crash, the code cannot open the door again and the entry is not lost."""
        with self._transaction() as db:
            self._remember(db, nonce, expires_at, now)
            return self._append(db, build)

    def _append(
        self, db: sqlite3.Connection, build: Callable[[str, int], StationEvent]
    ) -> StationEvent:
        seq = self._last_seq + 1
        event = build(self.epoch, seq)
        db.execute("INSERT INTO outbox (seq, payload) VALUES (?, ?)", (seq, dump(event)))
        db.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (str(seq),))
        self._last_seq = seq  # after the statements: a failed insert leaves it unchanged
        return event

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def pending(self, *, after_seq: int = 0, limit: int = 100) -> list[tuple[int, bytes]]:
        """Unacknowledged events in order: (seq, payload)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [(int(seq), bytes(payload)) for seq, payload in rows]

    def payloads(self, seqs: Iterable[int]) -> list[tuple[int, bytes]]:
        wanted = sorted(set(seqs))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        with self._lock:
            rows = self._db.execute(
                f"SELECT seq, payload FROM outbox WHERE seq IN ({marks}) ORDER BY seq",  # noqa: S608
                wanted,
            ).fetchall()
        return [(int(seq), bytes(payload)) for seq, payload in rows]

    def acknowledge(self, seqs: Iterable[int]) -> int:
        """Delete acknowledged events; returns how many rows went."""
        wanted = list(set(seqs))
        if not wanted:
            return 0
        marks = ",".join("?" * len(wanted))
        with self._transaction() as db:
            cursor = db.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", wanted)  # noqa: S608
            return cursor.rowcount

    def floor(self) -> int:
        """The lowest seq not yet acknowledged (the next one to come when all are)."""
        with self._lock:
            row = self._db.execute("SELECT min(seq) FROM outbox").fetchone()
        return int(row[0]) if row[0] is not None else self._last_seq + 1

    def pinned_control_keys(self) -> dict[str, str] | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'control_keys'").fetchone()
        if row is None:
            return None
        keys = json.loads(row[0])
        return {str(kid): str(text) for kid, text in keys.items()}

    def pin_control_keys(self, keys: Mapping[str, str]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('control_keys', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (json.dumps(dict(keys), sort_keys=True),),
            )

    def trust_pages(self) -> dict[str, bytes]:
        with self._lock:
            rows = self._db.execute("SELECT name, payload FROM trust_page").fetchall()
        return {str(name): bytes(payload) for name, payload in rows}

    def save_trust_page(self, name: str, payload: bytes) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO trust_page (name, payload) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET payload = excluded.payload",
                (name, payload),
            )

    def station_config(self) -> bytes | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'station_config'").fetchone()
        return None if row is None else str(row[0]).encode()

    def save_station_config(self, payload: bytes) -> None:
        """In ``meta`` (JSON text): no schema change, so an older agent still opens the file."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('station_config', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (payload.decode(),),
            )

    def depth(self) -> int:
        with self._lock:
            count: int = self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        return count
