"""What a file says at length moves to its own table: reorders and edits stop rewriting it.

kohya's ``__metadata__`` (tag frequencies, datasets...) is kilobytes per file, tens of
kilobytes for some, and the trigger-word suggestions, the sidecar summary and a
Civitai description add about another kilobyte. Kept inline they made every
``adapters`` row that wide, so a drag that shifts 5,000 ordinals rewrote megabytes
nobody changed.

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

MOVED = ("training_metadata", "trigger_candidates", "sidecars", "description")


def upgrade() -> None:
    op.create_table(
        "adapter_details",
        sa.Column("adapter_id", sa.String(36), nullable=False),
        sa.Column("training_metadata", sa.JSON(), nullable=True),
        sa.Column("trigger_candidates", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("sidecars", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["adapter_id"],
            ["adapters.id"],
            name="fk_adapter_details_adapter_id_adapters",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("adapter_id", name="pk_adapter_details"),
    )
    op.execute(
        "INSERT INTO adapter_details (adapter_id, training_metadata, trigger_candidates,"
        " sidecars, description) SELECT id, training_metadata,"
        " coalesce(trigger_candidates, '[]'), coalesce(sidecars, '{}'), description"
        " FROM adapters"
    )
    # In place, never a copy (see revision 0002): plain ALTER TABLE ... DROP COLUMN.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("adapters", recreate="never") as batch:
            for column in MOVED:
                batch.drop_column(column)


def downgrade() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("adapters", recreate="never") as batch:
            batch.add_column(sa.Column("description", sa.Text(), nullable=True))
            batch.add_column(
                sa.Column("trigger_candidates", sa.JSON(), nullable=False, server_default="[]")
            )
            batch.add_column(sa.Column("training_metadata", sa.JSON(), nullable=True))
            batch.add_column(sa.Column("sidecars", sa.JSON(), nullable=False, server_default="{}"))
    for column in MOVED:
        op.execute(
            f"UPDATE adapters SET {column} = coalesce((SELECT d.{column}"
            f" FROM adapter_details AS d WHERE d.adapter_id = adapters.id), {column})"
        )
    op.drop_table("adapter_details")
