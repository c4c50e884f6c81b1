"""audit before/after, alarm notes and resolution

Every audit entry keeps what the change touched before and after (JSON text); an alarm keeps
the note given when it was acknowledged, and who resolved it, when and how. The alarm's time
columns are indexed: the console's live feed reads their newest values every second.

Revision ID: 0005_audit_changes_alarm_states
Revises: 0003_station_readiness
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision: str = "0005_audit_changes_alarm_states"
down_revision: str | None = "0004_closed_by_hours"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("before", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("after", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("alarm", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "acknowledged_note",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "resolution",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="",
            )
        )
        batch_op.create_index(batch_op.f("ix_alarm_cleared_at"), ["cleared_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alarm_acknowledged_at"), ["acknowledged_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alarm_resolved_at"), ["resolved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alarm", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarm_resolved_at"))
        batch_op.drop_index(batch_op.f("ix_alarm_acknowledged_at"))
        batch_op.drop_index(batch_op.f("ix_alarm_cleared_at"))
        batch_op.drop_column("resolution")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("acknowledged_note")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_column("after")
        batch_op.drop_column("before")
