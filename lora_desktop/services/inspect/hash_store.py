"""Writing hash results: the hash columns, and what the hash pass derives on the way.

``store_results`` writes one batch in one transaction. A file that changed or was
incomplete, or whose header the pass found faulty after its metadata was indexed,
is inspected again and written through the ORM (``apply_inspection``); the others,
nearly all of them, by two executemany UPDATEs (through the ORM, loading and flushing
each row took more processor time than hashing a small file): the hash columns, and
the trigger-word suggestions bulk registration leaves to this pass.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, select, update
from sqlalchemy.orm import Session, selectinload

from lora_desktop.models.base import utcnow
from lora_desktop.models.tables import Adapter, AdapterDetails
from lora_desktop.services.inspect.apply import apply_inspection
from lora_desktop.services.inspect.hashing import HashResult
from lora_desktop.services.inspect.inspection import FileInspection, inspect_file
from lora_desktop.services.inspect.metadata import trigger_candidates
from lora_desktop.services.library import Library


def store_results(lib: Library, results: Sequence[tuple[str, HashResult]]) -> None:
    """Write hash results in one transaction; re-inspect files that changed or were incomplete,
    and those whose header the hash pass found faulty after their metadata was indexed.

    What does not need the write lock is done first, outside it: the re-inspections
    and the trigger-word candidates (JSON inside strings) that bulk registration
    leaves to this pass. Re-inspected rows are written through the ORM
    (``apply_inspection``); the others, nearly all of them, by two executemany UPDATEs
    (through the ORM, loading and flushing each row took more processor time than the
    hashing of a small file).
    """
    ids = [adapter_id for adapter_id, _ in results]
    reinspect: dict[str, FileInspection] = {}
    derived: dict[str, tuple[str, list[dict[str, Any]], list[str]]] = {}
    with lib.db.read() as session:
        rows = session.execute(
            select(
                Adapter.id,
                Adapter.file_path,
                Adapter.incomplete,
                Adapter.file_size,
                Adapter.file_mtime,
                _METADATA_TEXT,
            )
            .outerjoin(AdapterDetails, AdapterDetails.adapter_id == Adapter.id)
            .where(Adapter.id.in_(ids))
        ).all()
    facts = {row[0]: row for row in rows}
    for adapter_id, result in results:
        row = facts.get(adapter_id)
        if row is None:
            continue
        lib.window_busy.wait_turn()  # JSON inside strings, or a whole file read again
        _id, path, was_incomplete, size, mtime, metadata_text = row
        metadata = None if metadata_text is None else json.loads(metadata_text)
        if (
            was_incomplete
            or (size, mtime) != (result.size, result.mtime)
            # Bulk registration read only the leading __metadata__; a problem in the rest
            # of the header: read as one-file registration reads it, stored as it stores it.
            or (result.header_problem is not None and metadata is not None)
        ):
            reinspect[adapter_id] = inspect_file(path)
        elif isinstance(metadata, dict):
            problems: list[str] = []
            found = [c.as_json() for c in trigger_candidates(metadata, problems)]
            derived[adapter_id] = (metadata_text, found, problems)
    with lib.db.write() as session:
        if reinspect:
            batch = (
                select(Adapter)
                .options(selectinload(Adapter.details))
                .where(Adapter.id.in_(list(reinspect)))
            )
            for adapter in session.scalars(batch):
                apply_inspection(session, adapter, reinspect[adapter.id])
                set_hash(adapter, dict(results)[adapter.id])
        plain = [(i, r) for i, r in results if i not in reinspect and i in facts]
        if plain:
            _store_plain(session, plain, derived)


_METADATA_TEXT = cast(AdapterDetails.training_metadata, Text)
"""The stored metadata's JSON text: compared as is to tell a row re-inspected meanwhile."""
_A = Adapter.__table__.c
_HASH_COLUMNS = (
    "sha256",
    "sha256_weights",
    "hash_size",
    "hash_mtime",
    "file_size",
    "file_mtime",
    "file_inode",
    "hashed_at",
    "file_status",
    "incomplete",
    "inspect_error",
    "updated_at",
)
_HASH_UPDATE = (
    update(Adapter.__table__)  # type: ignore[arg-type]
    .where(_A.id == bindparam("row_id"))
    .values({name: bindparam(f"new_{name}", type_=_A[name].type) for name in _HASH_COLUMNS})
)
_D = AdapterDetails.__table__.c
_CANDIDATES_UPDATE = (
    update(AdapterDetails.__table__)  # type: ignore[arg-type]
    .where(_D.adapter_id == bindparam("row_id"))
    .values(trigger_candidates=bindparam("candidates", type_=_D.trigger_candidates.type))
)


def _store_plain(
    session: Session,
    results: Sequence[tuple[str, HashResult]],
    derived: dict[str, tuple[str, list[dict[str, Any]], list[str]]],
) -> None:
    """The hash (and the derived trigger-word candidates) of rows not re-inspected, as
    ``set_hash`` writes them (and the candidates, with their problems noted), from
    the rows as they are now."""
    ids = [adapter_id for adapter_id, _ in results]
    now = {
        row[0]: row
        for row in session.execute(
            select(
                Adapter.id,
                Adapter.file_status,
                Adapter.inspect_error,
                _METADATA_TEXT,
                AdapterDetails.trigger_candidates,
            )
            .outerjoin(AdapterDetails, AdapterDetails.adapter_id == Adapter.id)
            .where(Adapter.id.in_(ids))
            # A server database: the rows stay as read until written (SQLite's write
            # transactions are exclusive already; it ignores this).
            .with_for_update(of=Adapter.__table__)
        )
    }
    hashes: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    stamp = utcnow()
    for adapter_id, result in results:
        row = now.get(adapter_id)
        if row is None:
            continue  # deleted meanwhile
        _id, status, error, metadata_text, stored = row
        if adapter_id in derived and derived[adapter_id][0] == metadata_text:
            _text, found, problems = derived[adapter_id]  # not re-inspected meanwhile
            if found != (stored or []):
                candidates.append({"row_id": adapter_id, "candidates": found})
            new = [p for p in problems if p not in (error or "")]
            if new:
                error = "; ".join([*filter(None, [error]), *new])[:2000]
        columns = hash_columns(result, status, error, stamp)
        hashes.append({"row_id": adapter_id, **{f"new_{k}": v for k, v in columns.items()}})
    if hashes:
        session.execute(_HASH_UPDATE, hashes)
    if candidates:
        session.execute(_CANDIDATES_UPDATE, candidates)


def hash_columns(
    result: HashResult, file_status: str, inspect_error: str | None, now: datetime
) -> dict[str, Any]:
    """The ``adapters`` columns a hash result sets, given the row's status and problems.

    The watcher's "changed" lasts until the file is hashed again; a problem the pass
    found is added beside the others (once).
    """
    problem = result.incomplete or result.header_problem
    if problem and problem not in (inspect_error or ""):
        inspect_error = "; ".join(filter(None, [inspect_error, problem]))[:2000]
    return {
        "sha256": result.sha256,
        "sha256_weights": result.sha256_weights,
        "hash_size": result.size,
        "hash_mtime": result.mtime,
        "file_size": result.size,
        "file_mtime": result.mtime,
        "file_inode": result.inode,
        "hashed_at": now,
        "file_status": "ok" if file_status == "changed" else file_status,
        "incomplete": result.incomplete is not None,
        "inspect_error": inspect_error,
        "updated_at": now,
    }


def set_hash(adapter: Adapter, result: HashResult) -> None:
    """``hash_columns`` on a loaded row (the ORM path: a row inspected again)."""
    columns = hash_columns(result, adapter.file_status, adapter.inspect_error, utcnow())
    for name, value in columns.items():
        setattr(adapter, name, value)
