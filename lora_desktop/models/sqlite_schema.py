"""Writing a new SQLite library's schema without running the migrations.

Creating a library through Alembic imports it and replays every migration: about
0.4 s on the app's first start, before the window can show anything. A new,
empty SQLite library gets the same schema from the statements in
``new_sqlite_schema`` instead: the ones SQLite itself recorded after the
migrations ran (``sqlite_master``, in creation order), then the head revision.
A test checks that both ways give the same schema; after a new migration,
``python -m lora_desktop.models.sqlite_schema`` writes the module again.
Existing libraries, and other databases, are always upgraded by Alembic.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sqlalchemy import Connection, create_engine

SCHEMA_MODULE = Path(__file__).with_name("new_sqlite_schema.py")


def schema_statements(connection: Connection) -> list[str]:
    """The statements SQLite recorded for the schema (tables, indexes...), oldest first."""
    rows = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).all()
    return [str(sql) for (sql,) in rows]


def schema_dump(connection: Connection) -> list[tuple[str, str, str, str | None]]:
    """(type, name, table, SQL) of every schema object: what the test compares."""
    rows = connection.exec_driver_sql(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).all()
    return [(str(t), str(n), str(tb), None if s is None else str(s)) for t, n, tb, s in rows]


def render_module(revision: str, statements: list[str]) -> str:
    """The text of ``new_sqlite_schema.py`` for ``revision``."""
    lines = [
        "# ruff: noqa: E501",
        '"""The schema of a new SQLite library at the head revision (generated: do not edit).',
        "",
        "Written by ``python -m lora_desktop.models.sqlite_schema`` from a library the",
        'migrations made; see ``sqlite_schema``."""',
        "",
        f"REVISION = {revision!r}",
        "",
        "STATEMENTS = (",
        *(f"    {statement!r}," for statement in statements),
        ")",
        "",
    ]
    return "\n".join(lines)


def migrated_schema() -> tuple[str, list[str]]:
    """The head revision and schema statements of a library made by the migrations."""
    from lora_desktop.models.migrate import alembic_config, head_revision

    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'new.sqlite3'}")
        try:
            from alembic import command

            config = alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            with engine.connect() as connection:
                return head_revision(), schema_statements(connection)
        finally:
            engine.dispose()


def main() -> int:
    """Write ``new_sqlite_schema.py`` for the current migrations."""
    revision, statements = migrated_schema()
    SCHEMA_MODULE.write_text(render_module(revision, statements), encoding="utf-8")
    print(f"wrote {SCHEMA_MODULE} at revision {revision}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
