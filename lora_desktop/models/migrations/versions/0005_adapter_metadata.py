"""Training metadata in its own table: reordering or editing an adapter no longer rewrites it.

kohya's ``__metadata__`` (tag frequencies, datasets...) is kilobytes per file, tens of
kilobytes for some; kept inline it made every ``adapters`` row that wide, so a drag
that shifts 5,000 ordinals rewrote megabytes of metadata nobody changed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adapter_metadata",
        sa.Column("adapter_id", sa.String(36), nullable=False),
        sa.Column("training_metadata", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["adapter_id"],
            ["adapters.id"],
            name="fk_adapter_metadata_adapter_id_adapters",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("adapter_id", name="pk_adapter_metadata"),
    )
    op.execute(
        "INSERT INTO adapter_metadata (adapter_id, training_metadata)"
        " SELECT id, training_metadata FROM adapters WHERE training_metadata IS NOT NULL"
    )
    # In place, never a copy (see revision 0002): a plain ALTER TABLE ... DROP COLUMN.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("adapters", recreate="never") as batch:
            batch.drop_column("training_metadata")


def downgrade() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("adapters", recreate="never") as batch:
            batch.add_column(sa.Column("training_metadata", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE adapters SET training_metadata = (SELECT m.training_metadata"
        " FROM adapter_metadata AS m WHERE m.adapter_id = adapters.id)"
    )
    op.drop_table("adapter_metadata")
