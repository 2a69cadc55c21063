"""Revision 0002 (file inspection): the models match the migrated schema; data survives."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lora_desktop.models import migrate
from lora_desktop.models.base import Base
from lora_desktop.services import adapters
from lora_desktop.services.library import open_library
from tests.integration.migration_helpers import library_at


def test_after_upgrade_the_models_and_the_schema_agree(db_path: Path) -> None:
    lib = open_library(db_path)
    try:
        with lib.db.engine.connect() as connection, warnings.catch_warnings():
            # SQLite can't reflect the expression indexes; both sides skip them with a warning.
            warnings.simplefilter("ignore")
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        lib.close()
    assert diff == []


def _library_at_0001(db_path: Path) -> None:
    library_at(db_path, "0001")
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute(
            "INSERT INTO adapters (id, name, file_path, weight, active, ordinal, trigger_words,"
            " notes, sha256, file_size, file_mtime, file_status, search_text, created_at,"
            " updated_at) VALUES ('3e851413-4c88-400b-80b5-9472ecf5f6c0', 'foo',"
            " '/x/foo.safetensors',"
            " 0.75, 1, 0, '[\"red hair\"]', 'mine', 'ab', 10, 1.5, 'ok', 'foo',"
            " '2026-11-26 10:00:00+00:00', '2026-11-26 10:00:00+00:00')"
        )
        raw.execute(
            "INSERT INTO adapter_tags (adapter_id, tag, position)"
            " VALUES ('3e851413-4c88-400b-80b5-9472ecf5f6c0', 'style', 0)"
        )
    raw.close()


def test_a_0001_library_with_data_is_upgraded_and_keeps_its_rows(db_path: Path) -> None:
    _library_at_0001(db_path)

    lib = open_library(db_path)
    try:
        assert lib.upgrade is not None
        assert (lib.upgrade.from_revision, lib.upgrade.to_revision) == (
            "0001",
            migrate.head_revision(),
        )
        assert lib.upgrade.backup is not None
        foo = adapters.get(lib, "foo")
        indexes = {
            row[0]
            for row in lib.db.engine.connect()
            .exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
            .all()
        }
    finally:
        lib.close()
    assert (foo.weight, foo.active, foo.ordinal, foo.notes) == (0.75, True, 0, "mine")
    assert (foo.trigger_words, foo.tags, foo.sha256) == (["red hair"], ["style"], "ab")
    # New columns start empty: not inspected, not hashed, nothing edited, not dangerous.
    assert (foo.inspected_at, foo.hashed_at, foo.base_model, foo.training_metadata) == (
        None,
        None,
        None,
        None,
    )
    assert (foo.dangerous, foo.incomplete, foo.metadata_indexed) == (False, False, False)
    assert (foo.edited_fields, foo.trigger_candidates, foo.sidecars) == ([], [], {})
    # The expression indexes of 0001 survived (the batch altered the table in place).
    assert {"ix_adapters_compose", "ix_adapters_active", "uq_adapters_live_name"} <= indexes
    assert {"ix_adapters_sha256_weights", "ix_adapters_base_model"} <= indexes
