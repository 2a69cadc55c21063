"""Revision 0005: training metadata, suggestions, sidecars, description move to
``adapter_details``; nothing is lost."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from lora_desktop.services import adapters
from lora_desktop.services.library import open_library
from tests.integration.migration_helpers import library_at

KOHYA = {"ss_output_name": "foo", "ss_tag_frequency": json.dumps({"1_foo": {"red": 3}})}


def _library_at_0004(db_path: Path) -> None:
    library_at(db_path, "0004")
    raw = sqlite3.connect(db_path)
    with raw:
        for n, (name, metadata) in enumerate([("foo", KOHYA), ("bar", None)]):
            raw.execute(
                "INSERT INTO adapters (id, name, file_path, weight, active, ordinal, trigger_words,"
                " notes, file_status, search_text, created_at, updated_at, training_metadata,"
                " metadata_indexed, incomplete, dangerous, dangerous_globals, sidecars,"
                " edited_fields) VALUES (?, ?, ?, 1.0, 0, ?, '[]', '', 'ok', ?,"
                " '2026-11-26 10:00:00+00:00', '2026-11-26 10:00:00+00:00', ?, 1, 0, 0, '[]',"
                " '{}', '[]')",
                (
                    f"3e851413-4c88-400b-80b5-9472ecf5f6c{n}",
                    name,
                    f"/x/{name}.safetensors",
                    n,
                    name,
                    None if metadata is None else json.dumps(metadata),
                ),
            )
    raw.close()


def test_a_0004_library_keeps_its_training_metadata_in_the_new_table(db_path: Path) -> None:
    _library_at_0004(db_path)
    lib = open_library(db_path)
    try:
        assert lib.upgrade is not None
        assert (lib.upgrade.from_revision, lib.upgrade.to_revision) == ("0004", "0005")
        foo, bar = adapters.get(lib, "foo"), adapters.get(lib, "bar")
        with lib.db.engine.connect() as connection:
            columns = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(adapters)")}
            stored = connection.exec_driver_sql(
                "SELECT adapter_id, training_metadata IS NOT NULL, sidecars FROM adapter_details"
            ).all()
    finally:
        lib.close()
    assert foo.training_metadata == KOHYA
    assert bar.training_metadata is None
    assert not columns & {"training_metadata", "trigger_candidates", "sidecars", "description"}
    assert sorted(stored) == sorted([(foo.id, 1, "{}"), (bar.id, 0, "{}")])


def test_deleting_an_adapter_for_good_takes_its_details_along(db_path: Path) -> None:
    _library_at_0004(db_path)
    lib = open_library(db_path)
    try:
        with lib.db.write() as session:
            session.connection().exec_driver_sql("DELETE FROM adapters WHERE name = 'foo'")
        with lib.db.engine.connect() as connection:
            left = connection.exec_driver_sql("SELECT count(*) FROM adapter_details").scalar()
    finally:
        lib.close()
    assert left == 1  # bar's
