"""Containment actions: the intent and outcome of each action, and rollback approvals.

Revision ID: 0003_actions
Revises: 0002_slack
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_actions"
down_revision = "0002_slack"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "containment_action",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verify_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_containment_action_state", "containment_action", ["state"])
    op.create_index(op.f("ix_containment_action_incident_id"), "containment_action",
                    ["incident_id"], unique=False)
    op.create_table(
        "containment_approval",
        sa.Column("proposal_id", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("proposal_id"),
    )


def downgrade() -> None:
    op.drop_table("containment_approval")
    op.drop_index(op.f("ix_containment_action_incident_id"), table_name="containment_action")
    op.drop_index("ix_containment_action_state", table_name="containment_action")
    op.drop_table("containment_action")
