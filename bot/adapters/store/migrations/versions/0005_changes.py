"""Change events: deploys, flag flips and config changes from CD systems and flag services.

Revision ID: 0005_changes
Revises: 0004_schedule
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_changes"
down_revision = "0004_schedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("build_ids", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("flag", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("hosts", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=256), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_change_event_service_time", "change_event", ["service", "time"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_change_event_service_time", table_name="change_event")
    op.drop_table("change_event")
