"""room for updates: the rows rewritten all day leave half of each page free (PostgreSQL)

Every heartbeat rewrites its station's row (3,100 a second at the national peak), and every
batch of events its stream's row. PostgreSQL packs a table's pages full by default, so a new
version of a row finds no room on its page: it goes to another page, with a new entry in
every index, and the old one stays until a VACUUM. Measured (5,000 stations, 120,000
heartbeats, no autovacuum, docs/benchmarks.md): the station table grew from 91 to 1,964
pages, 22 % of the updates in place. With half of each page free, the new version stays on
its page (a HOT update, no index entry) and the page is pruned as it fills: 186 to 225 pages,
99 % in place. Rows already packed move to roomier pages at their next update.

SQLite rewrites rows in place: nothing to do there.

Revision ID: 0010_room_for_updates
Revises: 0009_tally
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_room_for_updates"
down_revision: str | None = "0009_tally"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Percent of each page filled by inserts; the rest is kept for updated versions of its rows.
FILLFACTOR = {"station": 50, "event_stream": 50}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, percent in FILLFACTOR.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in FILLFACTOR:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
