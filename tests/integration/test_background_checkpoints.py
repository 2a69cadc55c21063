"""Background checkpoints: the window's library copies its log into the file by itself."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from lora_desktop.services import adapters
from lora_desktop.services.library import Library, open_library
from lora_desktop.services.registration import register_many
from tests.conftest import make_lora


def _in_the_file_itself(db_path: Path) -> int:
    """Adapters in the database file, the log ignored (``immutable`` skips the WAL)."""
    raw = sqlite3.connect(f"file:{db_path}?immutable=1", uri=True)
    try:
        return int(raw.execute("SELECT count(*) FROM adapters").fetchone()[0])
    finally:
        raw.close()


def _schema_in_the_file(lib: Library) -> None:
    """Checkpoint the new library's schema, so the file alone has the (empty) tables."""
    with lib.db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _wait(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_small_write_reaches_the_file_without_a_commit_filling_the_log(
    db_path: Path, lora_dir: Path
) -> None:
    lib = open_library(db_path)
    try:
        _schema_in_the_file(lib)
        assert _in_the_file_itself(db_path) == 0
        assert lib.start_background_checkpoints()
        assert not lib.start_background_checkpoints()  # once
        make_lora(lora_dir, "foo")
        register_many(lib, [lora_dir])
        assert adapters.counts(lib)["adapters"] == 1
        assert _wait(lambda: _in_the_file_itself(db_path) == 1)
        assert lib.db.checkpointing
    finally:
        lib.close()
    assert not lib.db.checkpointing


def test_without_them_a_small_write_stays_in_the_log(db_path: Path, lora_dir: Path) -> None:
    lib = open_library(db_path)
    try:
        _schema_in_the_file(lib)
        make_lora(lora_dir, "foo")
        register_many(lib, [lora_dir])
        assert adapters.counts(lib)["adapters"] == 1
        time.sleep(1.0)  # two checkpoint intervals: nothing would copy it meanwhile
        assert _in_the_file_itself(db_path) == 0
    finally:
        lib.close()
