"""Scheduling: once-only scheduled posts, incident summary state, captured Slack messages.

Revision ID: 0004_schedule
Revises: 0003_actions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_schedule"
down_revision = "0003_actions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_post",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(op.f("ix_scheduled_post_incident_id"), "scheduled_post", ["incident_id"],
                    unique=False)
    op.create_table(
        "incident_summary",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("signature", sa.String(length=255), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("hosts", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("incident_id"),
    )
    op.create_table(
        "timeline_capture",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("channel", "message_ts"),
    )
    op.create_index(op.f("ix_timeline_capture_incident_id"), "timeline_capture",
                    ["incident_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_timeline_capture_incident_id"), table_name="timeline_capture")
    op.drop_table("timeline_capture")
    op.drop_table("incident_summary")
    op.drop_index(op.f("ix_scheduled_post_incident_id"), table_name="scheduled_post")
    op.drop_table("scheduled_post")
