"""File inspection: header-derived fields, hashes, sidecars, pickle verdicts, edit tracking.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Plain string defaults: an SQL-expression default would make batch copy the table.
EMPTY_LIST = "[]"
EMPTY_OBJECT = "{}"
FALSE = "0"


@contextmanager
def _adapters_batch() -> Iterator[BatchOperations]:
    """A batch on ``adapters`` that must alter the table in place, never copy it.

    A copy ("move and copy") would drop ``adapters``, which with foreign keys on
    cascades to every tag row, and would lose the expression indexes SQLite can't
    reflect (batch warns about them; harmless in place). Only columns with constant
    defaults and plain indexes are added, so in place is always possible.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("adapters", recreate="never") as batch:
            yield batch


def upgrade() -> None:
    with _adapters_batch() as batch:
        batch.add_column(sa.Column("title", sa.String(500), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("base_model", sa.String(100), nullable=True))
        batch.add_column(sa.Column("network_module", sa.String(200), nullable=True))
        batch.add_column(sa.Column("network_dim", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("network_alpha", sa.Float(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(50), nullable=True))
        batch.add_column(sa.Column("trigger_phrase", sa.String(500), nullable=True))
        batch.add_column(
            sa.Column("trigger_candidates", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )
        batch.add_column(sa.Column("training_metadata", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("metadata_indexed", sa.Boolean(), nullable=False, server_default=FALSE)
        )
        batch.add_column(sa.Column("header_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("sha256_weights", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("hash_mtime", sa.Float(), nullable=True))
        batch.add_column(sa.Column("file_inode", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("hashed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("inspected_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("inspect_error", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("incomplete", sa.Boolean(), nullable=False, server_default=FALSE)
        )
        batch.add_column(sa.Column("dangerous", sa.Boolean(), nullable=False, server_default=FALSE))
        batch.add_column(
            sa.Column("dangerous_globals", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )
        batch.add_column(sa.Column("preview_path", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("sidecars", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT)
        )
        batch.add_column(
            sa.Column("edited_fields", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )
        batch.create_index("ix_adapters_sha256_weights", ["sha256_weights"])
        batch.create_index("ix_adapters_base_model", ["base_model"])


def downgrade() -> None:
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+), for the same reason: never a copy.
    op.drop_index("ix_adapters_base_model", table_name="adapters")
    op.drop_index("ix_adapters_sha256_weights", table_name="adapters")
    for column in (
        "edited_fields",
        "sidecars",
        "preview_path",
        "dangerous_globals",
        "dangerous",
        "incomplete",
        "inspect_error",
        "inspected_at",
        "hashed_at",
        "file_inode",
        "hash_mtime",
        "hash_size",
        "sha256_weights",
        "header_size",
        "metadata_indexed",
        "training_metadata",
        "trigger_candidates",
        "trigger_phrase",
        "resolution",
        "network_alpha",
        "network_dim",
        "network_module",
        "base_model",
        "description",
        "title",
    ):
        op.drop_column("adapters", column)
