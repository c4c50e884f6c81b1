"""closed by hours: whether a station's opening hours refuse riders right now

Revision ID: 0004_closed_by_hours
Revises: 0003_station_readiness
Create Date: 2026-11-29 19:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_closed_by_hours"
down_revision: str | None = "0003_station_readiness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows start open; the minute job sets the flag from their hours within a minute.
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("closed_by_hours", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.drop_column("closed_by_hours")
