"""Library folders: the folders the app watches, and a quick key for relinking moved files.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_folders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("auto_import", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_library_folders"),
        sa.UniqueConstraint("path", name="uq_library_folders_path"),
    )
    # In place, never a copy: a copy of ``adapters`` would cascade-delete every tag
    # row and lose the expression indexes (see revision 0002).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("adapters", recreate="never") as batch:
            batch.add_column(sa.Column("quick_key", sa.String(64), nullable=True))
            batch.create_index("ix_adapters_file_size", ["file_size"])


def downgrade() -> None:
    op.drop_index("ix_adapters_file_size", table_name="adapters")
    op.drop_column("adapters", "quick_key")
    op.drop_table("library_folders")
