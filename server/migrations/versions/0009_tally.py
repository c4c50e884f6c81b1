"""tally: the stored totals of /api/summary kept by the writers, backfilled from the tables

Revision ID: 0009_tally
Revises: 0008_station_finder
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_tally"
down_revision: str | None = "0008_station_finder"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the totals were counted from before (server.reports.tally.recount counts the same),
# written out here so that this revision does not change with the code.
BACKFILL = """
INSERT INTO tally (shard, events, entries, exits, denials, decisions)
SELECT 0,
       count(*),
       count(*) FILTER (WHERE kind = 'door_opened' AND passage = 'entry'),
       count(*) FILTER (WHERE kind = 'door_opened' AND passage = 'exit'),
       count(*) FILTER (WHERE kind = 'access_denied'),
       (SELECT count(*) FROM decision)
FROM event
"""


def upgrade() -> None:
    op.create_table(
        "tally",
        sa.Column("shard", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("events", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("entries", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("exits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("denials", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("decisions", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("shard"),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("tally")
