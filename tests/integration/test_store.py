"""The store on a real SQLite file: PRAGMAs, UTC timestamps, where it lives, bad locations."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from lora_desktop.models.database import (
    BUSY_TIMEOUT_MS,
    PAGE_SIZE,
    default_database_path,
    resolve_database_url,
)
from lora_desktop.services.errors import LibraryUnavailable
from lora_desktop.services.library import Library, open_library
from tests.conftest import add_adapter


def _pragma(lib: Library, name: str) -> object:
    with lib.db.engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_every_connection_has_wal_foreign_keys_and_a_busy_timeout(library: Library) -> None:
    assert _pragma(library, "journal_mode") == "wal"
    assert _pragma(library, "foreign_keys") == 1
    assert _pragma(library, "busy_timeout") == BUSY_TIMEOUT_MS
    with library.db.read() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with library.db.write() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_new_library_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    import sqlite3

    new = open_library(tmp_path / "new.sqlite3")
    try:
        assert _pragma(new, "page_size") == PAGE_SIZE == 8192
    finally:
        new.close()
    # A file made with SQLite's default 4 KiB pages (as libraries were before this
    # setting) keeps them: the library is made in it and takes rows as before.
    old_path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(old_path)
    connection.execute("PRAGMA page_size = 4096")
    connection.execute("PRAGMA journal_mode = WAL")  # writes the file's header
    connection.close()
    old = open_library(old_path)
    try:
        assert _pragma(old, "page_size") == 4096
        add_adapter(old, tmp_path, "still_works")
        with old.db.read() as session:
            assert session.execute(text("SELECT name FROM adapters")).scalar() == "still_works"
    finally:
        old.close()


def test_foreign_keys_are_enforced(library: Library) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), library.db.write() as session:
        session.execute(text("INSERT INTO adapter_tags VALUES ('no-such-adapter', 'x', 0)"))


def test_timestamps_are_stored_and_read_back_in_utc(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    with library.db.engine.connect() as connection:
        raw = connection.execute(text("SELECT created_at FROM adapters")).scalar()
    reopened = open_library(library.db.path)
    try:
        from lora_desktop.services.adapters import get

        again = get(reopened, foo.id)
    finally:
        reopened.close()
    assert again.created_at == foo.created_at
    assert again.created_at.utcoffset() == timedelta(0)
    assert again.updated_at.utcoffset() == timedelta(0)
    assert str(raw).startswith(foo.created_at.strftime("%Y-%m-%d %H:%M:%S"))


def test_a_write_unit_rolls_back_on_error(library: Library, lora_dir: Path) -> None:
    from lora_desktop.models.tables import Adapter

    foo = add_adapter(library, lora_dir, "foo")

    def failing_unit() -> None:
        with library.db.write() as session:
            row = session.get(Adapter, foo.id)
            assert row is not None
            row.weight = 5.0
            session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_unit()
    with library.db.read() as session:
        assert session.get(Adapter, foo.id).weight == 1.0  # type: ignore[union-attr]


def test_location_precedence(tmp_path: Path) -> None:
    option, ours, generic = tmp_path / "o.db", tmp_path / "l.db", tmp_path / "d.db"
    env = {"LORA_DESKTOP_DATABASE": str(ours), "DATABASE_URL": f"sqlite:///{generic}"}

    assert resolve_database_url(option, env) == f"sqlite:///{option}"
    assert resolve_database_url(None, env) == f"sqlite:///{ours}"
    assert resolve_database_url("", env) == f"sqlite:///{ours}"
    assert resolve_database_url(None, {"DATABASE_URL": f"sqlite:///{generic}"}) == (
        f"sqlite:///{generic}"
    )
    assert resolve_database_url(None, {"LORA_DESKTOP_DATABASE": "", "DATABASE_URL": ""}) == (
        f"sqlite:///{default_database_path()}"
    )
    assert resolve_database_url("postgresql://u:p@host/db", env) == "postgresql://u:p@host/db"


def test_the_default_library_is_under_the_per_user_data_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert default_database_path() == data_home / "lora-desktop" / "library.sqlite3"
    lib = open_library()
    try:
        assert lib.db.path == data_home / "lora-desktop" / "library.sqlite3"
        assert lib.db.path.is_file()
    finally:
        lib.close()


def test_open_library_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'generic.db'}")
    lib = open_library()
    assert lib.db.path == tmp_path / "generic.db"
    lib.close()
    monkeypatch.setenv("LORA_DESKTOP_DATABASE", str(tmp_path / "ours.db"))
    lib = open_library()
    assert lib.db.path == tmp_path / "ours.db"
    lib.close()
    lib = open_library(tmp_path / "option.db")
    assert lib.db.path == tmp_path / "option.db"
    lib.close()


def test_a_missing_parent_folder_is_created(tmp_path: Path) -> None:
    lib = open_library(tmp_path / "a" / "b" / "lib.db")
    lib.close()
    assert (tmp_path / "a" / "b" / "lib.db").is_file()


def _unavailable(location: str | Path) -> LibraryUnavailable:
    with pytest.raises(LibraryUnavailable) as caught:
        open_library(location)
    problem = caught.value.to_problem()
    assert problem["type"].endswith(":library-unavailable")
    assert problem["detail"]
    return caught.value


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    error = _unavailable(tmp_path)
    assert error.to_problem()["title"] == "Database path is a folder"
    assert f"{tmp_path} is a folder" in error.detail
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_the_folder_should_be(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    error = _unavailable(blocker / "lib.db")
    assert "cannot create the folder" in error.detail
    assert blocker.read_text() == "not a folder"


def test_a_folder_that_cannot_be_created(tmp_path: Path) -> None:
    error = _unavailable("/proc/lora-desktop-test/lib.db")
    assert error.to_problem()["title"] == "Database folder cannot be created"


def test_a_non_writable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lora_desktop.models import database

    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the permission check see the denial
        real = os.access
        monkeypatch.setattr(
            database.os,
            "access",
            lambda p, mode, **kw: False if Path(p) == folder else real(p, mode, **kw),
        )
    error = _unavailable(folder / "lib.db")
    assert error.to_problem()["title"] == "Database folder not writable"
    assert "not writable" in error.detail
    assert list(folder.iterdir()) == []


def test_a_non_writable_database_file(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    from lora_desktop.models import database

    path = library.db.path
    assert path is not None
    library.close()
    path.chmod(0o444)
    if os.geteuid() == 0:
        real = os.access
        monkeypatch.setattr(
            database.os,
            "access",
            lambda p, mode, **kw: False if Path(p) == path else real(p, mode, **kw),
        )
    error = _unavailable(path)
    assert error.to_problem()["title"] == "Database not writable"


def test_bad_urls_and_missing_drivers_are_clear_errors() -> None:
    assert _unavailable("nosuchdb://x/y").to_problem()["title"] == "Bad database URL"
    error = _unavailable("postgresql://user:secret@127.0.0.1:1/lib")
    assert "secret" not in error.detail
