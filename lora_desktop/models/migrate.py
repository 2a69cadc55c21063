"""Bring a library's schema to the version this app knows, safely.

Opening a library runs the Alembic migrations in one transaction (a new, empty
SQLite library is given the same schema directly: ``sqlite_schema``). Before any
migration touches an existing SQLite file, a copy is taken with SQLite's online
backup API (a plain file copy can miss pages still in the WAL) and kept beside
it. A database from a newer app, or a file that is not a LoRA Desk library, is
refused and left untouched.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from lora_desktop.models.database import WRITE_OPTION, StoreError, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*=\s*(None|[\"'][^\"']+[\"'])", re.M)


@dataclass(frozen=True)
class UpgradeReport:
    """What opening the library did to its schema."""

    from_revision: str | None
    to_revision: str
    backup: Path | None


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def known_revisions() -> dict[str, str | None]:
    """Every revision this app ships, mapped to the revision it follows.

    Read from the migration files' ``revision``/``down_revision`` lines rather than
    through Alembic: opening an up-to-date library (every start of the window)
    then never imports Alembic, which costs about 0.15 s. A test checks that
    this agrees with Alembic's own reading.
    """
    return dict(_read_revisions(MIGRATIONS_DIR / "versions"))


@cache
def _read_revisions(versions: Path) -> dict[str, str | None]:
    revisions: dict[str, str | None] = {}
    for path in sorted(versions.glob("*.py")):
        values = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in values:
            continue
        down = values.get("down_revision", "None")
        revisions[values["revision"].strip("\"'")] = None if down == "None" else down.strip("\"'")
    return revisions


def head_revision() -> str:
    """Return the newest schema revision this app knows."""
    revisions = known_revisions()
    heads = set(revisions) - {down for down in revisions.values() if down is not None}
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have exactly one head, found {sorted(heads)}")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """Return the library's schema revision, or None for an empty database."""
    with engine.connect() as connection:
        try:
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        except (OperationalError, ProgrammingError):
            return None  # no alembic_version table: an empty database
    return None if row is None else str(row[0])


def backup_sqlite(path: Path, label: str) -> Path:
    """Copy a SQLite database with the online backup API; return the copy's path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.backup-{label}-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.backup-{label}-{stamp}-{counter}")
        counter += 1
    source = sqlite3.connect(path)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return target


SQLITE_MAGIC = b"SQLite format 3\x00"
WAL_HEADER_VERSION = 2


def _refuse_unknown(where: str, current: str | None, tables: set[str], head: str) -> None:
    """Refuse a schema newer than this app, or tables that are not a LoRA Desk library."""
    if current is not None and current not in known_revisions():
        raise StoreError(
            "Library is newer than this app",
            f"the database at {where} has schema revision {current}, which this version of "
            f"LoRA Desk does not know (newest: {head}). Update LoRA Desk; the database was "
            "left untouched.",
        )
    if current is None and tables:
        raise StoreError(
            "Not a LoRA Desk library",
            f"the database at {where} already holds tables ({', '.join(sorted(tables)[:5])}) "
            "but no LoRA Desk schema; choose another file. It was left untouched.",
        )


def preflight_sqlite(path: Path) -> None:
    """Refuse a SQLite file that is not ours, or newer, before the engine connects to it.

    The engine's connections switch a file to WAL, which rewrites the header of a
    file in rollback-journal mode: such a file is read here, read-only, first. A
    file already in WAL mode is left to the engine (connecting changes nothing).

    Raises:
        StoreError: not a SQLite file, not a LoRA Desk library, or a newer schema.
    """
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(
            "Library cannot be opened", f"cannot read {path}: {exc.strerror or exc}"
        ) from exc
    if not header:
        return  # an empty file: a new database
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StoreError(
            "Not a LoRA Desk library",
            f"{path} is not a SQLite database; choose another file. It was left untouched.",
        )
    if header[18] == WAL_HEADER_VERSION:
        return
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            tables = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master "
                    "WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                )
            }
            current = None
            if "alembic_version" in tables:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                current = None if row is None else str(row[0])
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise StoreError(
            "Library cannot be opened", f"cannot read the database {path}: {exc}"
        ) from exc
    _refuse_unknown(str(path), current, tables, head_revision())


def upgrade_library(engine: Engine) -> UpgradeReport:
    """Upgrade the schema to head in one transaction, backing up a SQLite file first.

    Raises:
        StoreError: the database is newer than this app, or not a LoRA Desk library.
    """
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None:
        preflight_sqlite(path)
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return UpgradeReport(current, head, None)
    tables = set(inspect(engine).get_table_names())
    _refuse_unknown(engine.url.render_as_string(hide_password=True), current, tables, head)
    if current is None and not tables and engine.dialect.name == "sqlite":
        from lora_desktop.models import new_sqlite_schema as schema

        if head == schema.REVISION:  # a new library: no Alembic (see ``sqlite_schema``)
            with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
                for statement in schema.STATEMENTS:
                    connection.exec_driver_sql(statement)
                connection.exec_driver_sql(
                    "INSERT INTO alembic_version (version_num) VALUES (?)", (head,)
                )
            log.info("new library created at schema %s", head)
            return UpgradeReport(None, head, None)
    backup: Path | None = None
    if path is not None and current is not None:
        backup = backup_sqlite(path, current)
        log.info("backed up %s to %s before migrating", path, backup)
    from alembic import command

    config = alembic_config()
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.info("library schema upgraded from %s to %s", current, head)
    return UpgradeReport(current, head, backup)
