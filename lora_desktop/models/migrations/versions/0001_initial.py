"""Initial schema: adapters, their tags, delivery jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adapters",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(200), nullable=True),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=True),
        sa.Column("archetype", sa.String(200), nullable=True),
        sa.Column("archetype_confidence", sa.Float(), nullable=True),
        sa.Column("trigger_words", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("file_mtime", sa.Float(), nullable=True),
        sa.Column("file_status", sa.String(16), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_adapters"),
    )
    live = sa.text("deleted_at IS NULL")
    op.create_index(
        "uq_adapters_live_name",
        "adapters",
        ["name"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    op.create_index(
        "uq_adapters_live_file_path",
        "adapters",
        ["file_path"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    op.create_index(
        "ix_adapters_compose",
        "adapters",
        ["deleted_at", sa.text("(ordinal IS NULL)"), "ordinal", "name", "id"],
    )
    op.create_index("ix_adapters_active", "adapters", ["active", "deleted_at"])
    op.create_index("ix_adapters_search", "adapters", ["deleted_at", "search_text"])
    op.create_index("ix_adapters_sha256", "adapters", ["sha256"])

    op.create_table(
        "adapter_tags",
        sa.Column("adapter_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["adapter_id"],
            ["adapters.id"],
            name="fk_adapter_tags_adapter_id_adapters",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("adapter_id", "tag", name="pk_adapter_tags"),
    )
    op.create_index("ix_adapter_tags_tag", "adapter_tags", ["tag", "adapter_id"])

    op.create_table(
        "delivery_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_jobs"),
    )
    op.create_index("ix_delivery_jobs_status", "delivery_jobs", ["status"])


def downgrade() -> None:
    op.drop_table("delivery_jobs")
    op.drop_table("adapter_tags")
    op.drop_table("adapters")
