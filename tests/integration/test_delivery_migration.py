"""Revision 0003 (delivery targets): no drift after upgrade; a 0002 library keeps its jobs."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from lora_desktop.models import migrate
from lora_desktop.models.base import Base
from lora_desktop.services import deliveries, targets
from lora_desktop.services.library import open_library
from tests.integration.migration_helpers import library_at


def test_after_upgrade_the_models_and_the_schema_agree(db_path: Path) -> None:
    lib = open_library(db_path)
    try:
        with lib.db.engine.connect() as connection, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # expression indexes SQLite cannot reflect
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        lib.close()
    assert diff == []


def test_a_0002_library_keeps_its_jobs_and_gains_targets(db_path: Path) -> None:
    library_at(db_path, "0002")
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute(
            "INSERT INTO delivery_jobs (id, prompt, mode, params, status, attempts, created_at)"
            " VALUES ('00000000-0000-4000-8000-000000000001', 'p', 'http',"
            " '{\"url\": \"http://127.0.0.1:9/\"}', 'pending', 0, '2026-01-01 00:00:00+00:00')"
        )
    raw.close()

    lib = open_library(db_path)
    try:
        assert lib.upgrade is not None
        assert (lib.upgrade.from_revision, lib.upgrade.to_revision) == (
            "0002",
            migrate.head_revision(),
        )
        assert deliveries.unfinished_jobs(lib) == ["00000000-0000-4000-8000-000000000001"]
        made = targets.create_target(
            lib, {"name": "h", "mode": "http", "config": {"url": "http://127.0.0.1:9/"}}
        )
        job = deliveries.enqueue(lib, target="h", prompt="q")
        targets.delete_target(lib, made.id)
        with lib.db.engine.connect() as connection:
            target_id = connection.exec_driver_sql(
                "SELECT target_id FROM delivery_jobs WHERE id = ?", (job.id,)
            ).scalar()
        assert target_id is None  # ON DELETE SET NULL
    finally:
        lib.close()


def test_0003_downgrades_to_0002(db_path: Path) -> None:
    library_at(db_path, "0003")
    engine = create_engine(f"sqlite:///{db_path}")
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    with engine.connect() as connection:
        tables = {r[0] for r in connection.exec_driver_sql("SELECT name FROM sqlite_master")}
        columns = {r[1] for r in connection.exec_driver_sql("PRAGMA table_info(delivery_jobs)")}
    engine.dispose()
    assert "delivery_targets" not in tables
    assert not {"target_id", "cancel_requested"} & columns
