"""Deliveries: named delivery targets; jobs remember their target and a cancel request.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_targets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_targets"),
        sa.UniqueConstraint("name", name="uq_delivery_targets_name"),
    )
    # On SQLite a new foreign key means a copy of the jobs table ("move and copy"):
    # nothing refers to delivery_jobs, so dropping the old copy cascades nowhere.
    with op.batch_alter_table("delivery_jobs") as batch:
        batch.add_column(
            sa.Column(
                "target_id",
                sa.String(36),
                sa.ForeignKey(
                    "delivery_targets.id",
                    name="fk_delivery_jobs_target_id_delivery_targets",
                    ondelete="SET NULL",
                ),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default="0")
        )
        batch.create_index("ix_delivery_jobs_target_id", ["target_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_jobs_target_id", table_name="delivery_jobs")
    # SQLite cannot drop a column that is a foreign key in place: copy the table.
    with op.batch_alter_table("delivery_jobs") as batch:
        batch.drop_column("cancel_requested")
        batch.drop_column("target_id")
    op.drop_table("delivery_targets")
