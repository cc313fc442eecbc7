"""Work leases: claims with fencing tokens shared by replicas (channel, report, diagnoses,
summaries). Diagnoses handed off before this migration count as finished.

Revision ID: 0007_replicas
Revises: 0006_cleanup
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_replicas"
down_revision = "0006_cleanup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_lease",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.execute(
        "INSERT INTO work_lease (key, holder, token, expires_at, done) "
        "SELECT 'diagnosis:' || incident_id || ':' || host, 'migration', 1, requested_at, "
        "true FROM incident_host WHERE diagnosis = 'requested'")


def downgrade() -> None:
    op.drop_table("work_lease")
