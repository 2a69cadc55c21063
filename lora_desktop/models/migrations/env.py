"""Alembic environment: run on the connection ``migrate.upgrade_library`` hands over."""

from __future__ import annotations

from alembic import context

from lora_desktop.models import tables  # noqa: F401  (registers the tables on Base.metadata)
from lora_desktop.models.base import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through lora_desktop.models.migrate.upgrade_library, not the alembic CLI"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    # The caller's transaction wraps the whole upgrade: all of it or none of it.
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
