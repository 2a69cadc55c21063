"""Bulk registration's database side: the rows it inserts and the lookups it makes.

A new file's row is built and encoded for the database (JSON text, booleans,
numbers) as soon as the file is inspected, outside any lock, and kept as a tuple of
plain values. A 1,000-file batch then holds nothing the garbage collector has to
follow: keeping each batch's inspections (dataclasses, dicts, lists) until the insert
got them promoted to the oldest generation, and the full collections that followed
(~0.1 s each here, three per 10,000 files) were ~15% of a registration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Table, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from lora_desktop.models.tables import Adapter, AdapterDetails, AdapterTag
from lora_desktop.services.convert import search_text
from lora_desktop.services.inspect.apply import file_columns, filled_values
from lora_desktop.services.inspect.inspection import FileInspection

ADAPTERS: Table = Adapter.__table__  # type: ignore[assignment]
TAGS: Table = AdapterTag.__table__  # type: ignore[assignment]
DETAILS: Table = AdapterDetails.__table__  # type: ignore[assignment]
DETAILS_COLUMNS = (
    "adapter_id",
    "training_metadata",
    "trigger_candidates",
    "sidecars",
    "description",
)
LATE = ("id", "name", "search_text", "created_at", "updated_at", "inspected_at")
"""Columns filled under the write lock (the name is chosen there) or once per batch."""
TAG_COLUMNS = ("adapter_id", "tag", "position")
_NO_SIDECARS = {"files": {}, "values": {}, "hashes": {}, "civitai_not_found": False}


_NO_SIDECARS_JSON = json.dumps(_NO_SIDECARS)


class Prepared(NamedTuple):
    """A new file's own columns, encoded, and what its entry and search text need."""

    values: tuple[object, ...]
    details: tuple[object, ...]  # its adapter_details row but the id, encoded (DETAILS_COLUMNS)
    tags: tuple[str, ...]
    words: tuple[str, ...]
    extra: tuple[str | None, str | None]  # base model and title, for the search text
    problem: str | None


_FIXED: dict[str, Any] = {
    "version": None,
    "active": False,
    "ordinal": None,
    "archetype": None,
    "archetype_confidence": None,
    "sha256": None,
    "file_status": "ok",
    "deleted_at": None,
    "edited_fields": [],
}
"""Columns every new row of a bulk registration shares: encoded once per encoder."""


def metadata_text(found: FileInspection) -> str | None:
    """The training metadata as ``adapter_details`` stores it: JSON text (the header's own
    text when it decodes to exactly the kept values: no re-encoding)."""
    if found.metadata is None:
        return None
    if found.metadata_json is not None:
        return found.metadata_json
    return json.dumps(found.metadata, ensure_ascii=False)


def _details_row(found: FileInspection) -> tuple[object, ...]:
    """A new file's ``adapter_details`` values, encoded (all but the id). The trigger-word
    suggestions are left to the hash pass for bulk registration (contract)."""
    summary = found.sidecar_summary()
    sidecars = _NO_SIDECARS_JSON if summary == _NO_SIDECARS else json.dumps(summary)
    description = filled_values(found, ()).get("description")
    return (metadata_text(found), "[]", sidecars, description)


def _file_row(found: FileInspection, size: int, mtime: float) -> tuple[dict[str, Any], list[str]]:
    """The columns that differ per file (all but ``LATE`` and ``_FIXED``), and the tags."""
    filled = filled_values(found, ())
    columns = file_columns(found)
    for name in ("training_metadata", "sidecars", "trigger_candidates", "inspected_at"):
        del columns[name]  # the first three in adapter_details: see _details_row()
    row = {
        "file_path": found.path,
        "weight": filled.get("weight", 1.0),
        "trigger_words": list(filled.get("trigger_words", [])),
        "notes": filled.get("notes") or "",
        "file_size": size,
        "file_mtime": mtime,
        "title": filled.get("title"),
        "base_model": filled.get("base_model"),
        "preview_path": filled.get("preview_path"),
        **columns,
    }
    return row, list(filled.get("tags", []))


class RowEncoder:
    """Encodes rows for one dialect with each column type's own bind processor.

    Processors are looked up once per column, not per row and value as a Core
    ``execute`` does. ``None`` is SQL NULL for every column, JSON ones included (the
    ORM's behaviour, not JSON ``null``). Booleans
    and empty lists or dicts are encoded once per column, ``_FIXED`` once in all.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        example, _tags = _file_row(FileInspection("", "safetensors"), 0, 0.0)
        self.columns = (*LATE, *_FIXED, *example)
        self._late = self._processor("created_at")
        self._converters: list[tuple[int, Callable[[Any], Any], dict[object, object]]] = []
        for i, name in enumerate(example):
            process = self._processor(name)
            if process is not None:
                self._converters.append((i, process, {}))
        self._fixed = tuple(
            value if value is None or (process := self._processor(name)) is None else process(value)
            for name, value in _FIXED.items()
        )

    def _processor(self, column: str) -> Callable[[Any], Any] | None:
        processor: Callable[[Any], Any] | None = (
            ADAPTERS.c[column].type.dialect_impl(self.dialect).bind_processor(self.dialect)
        )
        return processor

    def prepare(self, found: FileInspection, size: int, mtime: float) -> Prepared:
        """The encoded row of a new file (its own columns) and its entry's data."""
        row, tags = _file_row(found, size, mtime)
        values: list[object] = list(row.values())  # the same keys, in the same order, each time
        for i, process, done in self._converters:
            value = values[i]
            if value is None:
                continue
            kind = type(value)
            if kind is bool or ((kind is list or kind is dict) and not value):
                key = (kind, value if kind is bool else None)
                out = done.get(key, done)
                if out is done:
                    out = done[key] = process(value)
                values[i] = out
            else:
                values[i] = process(value)
        return Prepared(
            tuple(values),
            _details_row(found),
            tuple(tags),
            tuple(row["trigger_words"]),
            (row["base_model"], row["title"]),
            found.error,
        )

    def timestamp(self, moment: object) -> object:
        """A batch's timestamp as ``created_at`` stores it (encoded once per batch)."""
        return moment if self._late is None else self._late(moment)

    def record(self, item: Prepared, adapter_id: str, name: str, now: object) -> tuple[object, ...]:
        """The full row of ``item`` in ``columns`` order (``now`` already encoded)."""
        text = search_text(name, None, item.tags, item.words, extra=item.extra)
        return (adapter_id, name, text, now, now, now, *self._fixed, *item.values)


def insert(
    session: Session, table: Table, columns: Sequence[str], records: list[tuple[object, ...]]
) -> None:
    """Insert encoded ``records`` (values in ``columns`` order) with one DB-API executemany.

    (Not the ORM bulk path, which drops None values per row and so split a batch into
    one statement per distinct set of keys.)
    """
    if not records:
        return
    connection = session.connection()
    dialect = connection.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"  # psycopg: format/pyformat
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    connection.exec_driver_sql(sql, records)


# SQLite's planner, without statistics, answers ``deleted_at IS NULL AND x IN (…)`` by
# walking every live row through another index that starts with deleted_at (measured: 16 ms
# per 1,000-path batch at 10,000 rows, growing with the library); the live unique indexes
# answer it in ~2 ms. Named here so a missing index fails loudly rather than slowly.
_LIVE_UNIQUE = {"file_path": "uq_adapters_live_file_path", "name": "uq_adapters_live_name"}


def _live_matches(
    session: Session, column: str, values: Collection[str], *, with_id: bool
) -> list[tuple[str, ...]]:
    """Rows ``(column[, id])`` of live adapters whose ``column`` is one of ``values``."""
    if not values:
        return []
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        wanted = f"{column}, id" if with_id else column
        sql = (
            f"SELECT {wanted} FROM adapters INDEXED BY {_LIVE_UNIQUE[column]} "
            f"WHERE deleted_at IS NULL AND {column} IN ({', '.join('?' * len(values))})"
        )
        return [tuple(r) for r in connection.exec_driver_sql(sql, tuple(values))]
    field = Adapter.file_path if column == "file_path" else Adapter.name
    columns = (field, Adapter.id) if with_id else (field,)
    statement = select(*columns).where(field.in_(values), Adapter.deleted_at.is_(None))
    return [tuple(r) for r in session.execute(statement)]


def known_paths(session: Session, paths: Collection[str]) -> dict[str, str]:
    """Path → id of the live adapters among ``paths``."""
    return {row[0]: row[1] for row in _live_matches(session, "file_path", paths, with_id=True)}


def live_names(session: Session, names: Collection[str]) -> set[str]:
    """Which of ``names`` live adapters hold."""
    return {row[0] for row in _live_matches(session, "name", names, with_id=False)}


def suffixed_names(session: Session, stem: str) -> set[str]:
    """Names ``stem~N`` already in the database (looked up only when ``stem`` is taken)."""
    pattern = stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "~%"
    return set(
        session.scalars(
            select(Adapter.name).where(
                Adapter.deleted_at.is_(None), Adapter.name.like(pattern, escape="\\")
            )
        )
    )
