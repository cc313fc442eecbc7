"""Slash commands stored before their ack: a replica taking over answers those whose replica
died between the ack and the answer.

Revision ID: 0008_slashack
Revises: 0007_replicas
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_slashack"
down_revision = "0007_replicas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slash_request",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("response_url", sa.Text(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("opened", sa.Boolean(), nullable=True),
        sa.Column("claimed", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_slash_request_received_at", "slash_request", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_slash_request_received_at", table_name="slash_request")
    op.drop_table("slash_request")
