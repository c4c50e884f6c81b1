"""The agent's durable state in one SQLite file: WAL, synchronous=FULL, versioned schema.

Migrations run in order, each in one transaction, and record themselves in ``user_version``.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    # 1: tokens that have admitted someone here, kept until they could no longer be valid.
    """
    CREATE TABLE replay (
        nonce BLOB PRIMARY KEY,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX replay_expiry ON replay (expires_at);
    """,
)


class StoreError(RuntimeError):
    """The store's file is from a newer agent or cannot be used."""


class AgentStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The agent's loop is the only user after start-up; the lock guards the odd exception.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    @property
    def schema_version(self) -> int:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema {current}, newer than this agent knows")
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
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

    # -- the replay cache (port ReplayCache) --------------------------------------------
    def seen(self, nonce: bytes, now: float) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM replay WHERE nonce = ? AND expires_at >= ?", (nonce, now)
            ).fetchone()
        return row is not None

    def remember(self, nonce: bytes, expires_at: float, now: float) -> None:
        """Committed (fsync'd) before it returns: the door opens only after this."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM replay WHERE expires_at < ?", (now,))
                self._db.execute(
                    "INSERT OR REPLACE INTO replay (nonce, expires_at) VALUES (?, ?)",
                    (nonce, expires_at),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
