"""Migrations on open: empty → head, online backups, refusal of newer or foreign files."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from lora_desktop.models import migrate
from lora_desktop.services.adapters import get, list_adapters
from lora_desktop.services.errors import LibraryUnavailable
from lora_desktop.services.library import Library, open_library
from tests.conftest import add_adapter

EXTRA_REVISION = '''"""Test-only revision: a column added the way later issues will add theirs."""

import sqlalchemy as sa
from alembic import op

revision = "9000test"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("adapters", sa.Column("test_extra", sa.String(100), nullable=True))
    {extra}


def downgrade() -> None:
    pass
'''


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def _closed_library(db_path: Path, lora_dir: Path) -> Path:
    lib = open_library(db_path)
    add_adapter(lib, lora_dir, "foo", weight=0.5)
    lib.close()
    return db_path


def test_an_empty_database_is_migrated_to_head(db_path: Path) -> None:
    lib = open_library(db_path)
    try:
        assert lib.upgrade is not None
        assert (lib.upgrade.from_revision, lib.upgrade.backup) == (None, None)
        assert lib.upgrade.to_revision == migrate.head_revision()
        tables = set(inspect(lib.db.engine).get_table_names())
        assert {"adapters", "adapter_tags", "delivery_jobs", "alembic_version"} <= tables
        assert migrate.current_revision(lib.db.engine) == migrate.head_revision()
    finally:
        lib.close()
    assert _siblings(db_path) == ["library.sqlite3"]  # no backup of a new file


def test_an_existing_empty_file_is_a_new_database(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch()
    lib = open_library(db_path)
    lib.close()
    assert lib.upgrade is not None
    assert lib.upgrade.from_revision is None


def test_reopening_an_up_to_date_library_takes_no_backup(db_path: Path, lora_dir: Path) -> None:
    _closed_library(db_path, lora_dir)
    lib = open_library(db_path)
    try:
        assert lib.upgrade is not None
        assert lib.upgrade.from_revision == lib.upgrade.to_revision == migrate.head_revision()
        assert lib.upgrade.backup is None
        assert [a.name for a in list_adapters(lib).items] == ["foo"]
    finally:
        lib.close()
    assert _siblings(db_path) == ["library.sqlite3"]


def test_backup_copies_what_is_still_in_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")  # keep every change in the WAL
        writer.execute("CREATE TABLE t (x INTEGER)")
        writer.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
        # A plain copy of the main file misses the rows: the test below would catch that.
        plain = tmp_path / "plain-copy.db"
        shutil.copyfile(path, plain)
        with sqlite3.connect(plain) as check:
            assert check.execute("SELECT name FROM sqlite_master").fetchall() == []

        backup = migrate.backup_sqlite(path, "0001")
    finally:
        writer.close()

    assert backup.parent == tmp_path
    assert backup.name.startswith("live.db.backup-0001-")
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("SELECT count(*), sum(x) FROM t").fetchone() == (100, 4950)
    finally:
        copy.close()
    assert migrate.backup_sqlite(path, "0001") != backup  # never overwrites an earlier backup


def _with_extra_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str = "pass"
) -> None:
    """Give the app a revision after its head, as a later release would."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts)
    head = migrate.head_revision()
    (scripts / "versions" / "9000_test.py").write_text(
        EXTRA_REVISION.format(down=head, extra=extra)
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)


def test_an_older_library_is_backed_up_then_upgraded(
    db_path: Path, lora_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _closed_library(db_path, lora_dir)
    old_revision = migrate.head_revision()
    _with_extra_revision(tmp_path, monkeypatch)

    lib = open_library(db_path)
    try:
        assert lib.upgrade is not None
        assert (lib.upgrade.from_revision, lib.upgrade.to_revision) == (old_revision, "9000test")
        backup = lib.upgrade.backup
        assert backup is not None
        columns = {c["name"] for c in inspect(lib.db.engine).get_columns("adapters")}
        assert "test_extra" in columns
        assert get(lib, "foo").weight == 0.5  # the data survived the upgrade
    finally:
        lib.close()

    assert backup.parent == db_path.parent
    assert backup.name.startswith(f"library.sqlite3.backup-{old_revision}-")
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == (old_revision,)
        assert copy.execute("SELECT name, weight FROM adapters").fetchall() == [("foo", 0.5)]
    finally:
        copy.close()


def test_a_failing_upgrade_leaves_the_library_at_its_revision(
    db_path: Path, lora_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _closed_library(db_path, lora_dir)
    old_revision = migrate.head_revision()
    _with_extra_revision(
        tmp_path,
        monkeypatch,
        extra='op.create_table("half", sa.Column("x", sa.Integer))\n'
        '    op.execute("THIS IS NOT SQL")',
    )

    with pytest.raises(LibraryUnavailable) as caught:
        open_library(db_path)

    assert "cannot open the database" in caught.value.detail
    check = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = {r[1] for r in check.execute("PRAGMA table_info(adapters)")}
        revision = check.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        check.close()
    assert "half" not in tables  # all of the upgrade or none of it
    assert "test_extra" not in columns
    assert revision == (old_revision,)


def _refused(db_path: Path) -> LibraryUnavailable:
    before = _digest(db_path)
    siblings = _siblings(db_path)
    with pytest.raises(LibraryUnavailable) as caught:
        open_library(db_path)
    assert _digest(db_path) == before
    assert _siblings(db_path) == siblings  # no backup, no WAL left behind
    return caught.value


def test_a_newer_library_is_refused_and_untouched(db_path: Path, lora_dir: Path) -> None:
    _closed_library(db_path, lora_dir)
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    raw.close()

    error = _refused(db_path)

    assert error.to_problem()["title"] == "Library is newer than this app"
    assert "revision 9999" in error.detail
    assert "Update LoRA Desk" in error.detail


def test_a_newer_library_in_rollback_journal_mode_is_untouched(
    db_path: Path, lora_dir: Path
) -> None:
    _closed_library(db_path, lora_dir)
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA journal_mode=DELETE")
    raw.execute("UPDATE alembic_version SET version_num = '9999'")
    raw.commit()
    raw.close()

    assert "revision 9999" in _refused(db_path).detail


@pytest.mark.parametrize("journal", ["DELETE", "WAL"])
def test_a_foreign_sqlite_file_is_refused_and_untouched(tmp_path: Path, journal: str) -> None:
    path = tmp_path / "photos.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA journal_mode={journal}")
    raw.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, caption TEXT)")
    raw.execute("INSERT INTO photos (caption) VALUES ('cat')")
    raw.commit()
    raw.close()

    error = _refused(path)

    assert error.to_problem()["title"] == "Not a LoRA Desk library"
    assert "photos" in error.detail
    assert "left untouched" in error.detail


def test_a_file_that_is_not_sqlite_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("my shopping list\n" * 20)
    error = _refused(path)
    assert "is not a SQLite database" in error.detail


def test_the_library_fixture_is_at_head(library: Library) -> None:
    assert migrate.current_revision(library.db.engine) == migrate.head_revision()
