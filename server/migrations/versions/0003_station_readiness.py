"""station readiness: the reason codes a station gives for not being ready

Revision ID: 0003_station_readiness
Revises: 0002_alert_notifications
Create Date: 2026-11-29 17:21:17.897411
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision: str = "0003_station_readiness"
down_revision: str | None = "0002_alert_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("not_ready", sqlmodel.sql.sqltypes.AutoString(length=264), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.drop_column("not_ready")
