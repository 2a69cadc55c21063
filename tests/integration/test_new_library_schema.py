"""A new SQLite library gets exactly the schema the migrations make, without Alembic."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import create_engine

from lora_desktop.models import migrate, new_sqlite_schema
from lora_desktop.models.sqlite_schema import migrated_schema, schema_dump
from lora_desktop.services import adapters
from lora_desktop.services.library import open_library
from tests.conftest import add_adapter
from tests.integration.migration_helpers import library_at

REGENERATE = "the migrations changed: run `python -m lora_desktop.models.sqlite_schema`"


def _dump(db_path: Path) -> list[tuple[str, str, str, str | None]]:
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as connection:
            return schema_dump(connection)
    finally:
        engine.dispose()


def test_the_stored_statements_are_those_of_the_migrations() -> None:
    revision, statements = migrated_schema()
    assert (new_sqlite_schema.REVISION, list(new_sqlite_schema.STATEMENTS)) == (
        revision,
        statements,
    ), REGENERATE
    assert revision == migrate.head_revision(), REGENERATE


def test_a_new_library_has_the_schema_of_a_migrated_one(tmp_path: Path, lora_dir: Path) -> None:
    migrated = tmp_path / "migrated.sqlite3"
    library_at(migrated, "head")
    new = tmp_path / "new.sqlite3"
    lib = open_library(new)
    try:
        assert lib.upgrade is not None
        head = migrate.head_revision()
        assert (lib.upgrade.from_revision, lib.upgrade.to_revision) == (None, head)
        assert lib.upgrade.backup is None
        add_adapter(lib, lora_dir, "works")  # and it is usable at once
        assert adapters.get(lib, "works").name == "works"
        assert migrate.current_revision(lib.db.engine) == head
    finally:
        lib.close()
    assert _dump(new) == _dump(migrated)


def test_creating_a_library_does_not_import_alembic(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from lora_desktop.services.library import open_library
        open_library(sys.argv[1]).close()
        print(sorted(m for m in sys.modules if m.split(".")[0] == "alembic"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "lib.sqlite3")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "[]"
