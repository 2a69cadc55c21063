"""Libraries at an older revision, for the migration tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from lora_desktop.models import migrate


def library_at(db_path: Path, revision: str) -> None:
    """Create an empty library file at ``revision`` (Alembic's own upgrade, no app code)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{db_path}")
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()
