"""Saving a whole compose order at once: the window's drag-reorder, fast on large libraries.

``adapters.reorder`` loads one ORM object per listed adapter, which is fine for a
handful but takes seconds for a list of 10,000. A drag in the window sends the
full order of every row, so this module reads only ``(id, ordinal)`` and writes
only the ordinals that actually change, through Core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from lora_desktop.models.base import utcnow
from lora_desktop.models.tables import Adapter
from lora_desktop.services.adapters import compose_order
from lora_desktop.services.errors import NotFound, ValidationFailed
from lora_desktop.services.library import ChangeSet, Library

# SQLite caps bound parameters per statement; stay far below.
_IN_LIST_MAX = 500
# A shorter run of shifted ordinals is written row by row.
_SHIFT_MIN = 32


def save_order(lib: Library, ids: Sequence[str], *, publish: bool = True) -> list[str]:
    """Give the listed adapters ordinals 0..n-1, in this order, and return the ids changed.

    Same rule as ``adapters.reorder``: live adapters not listed that had an ordinal
    follow, in their previous order; those without one keep none. Only rows whose
    ordinal changes are written (and get a new ``updated_at``). Listeners get one
    change set (``reordered=True``) on the calling thread, if anything changed,
    unless ``publish`` is false: then the caller publishes it (the window saves on
    a pool thread and publishes from its GUI thread).

    Raises:
        ValidationFailed: the list is empty or names an adapter twice.
        NotFound: an id matches no live adapter.
    """
    listed = list(ids)
    if not listed:
        raise ValidationFailed.field("ids", "give at least one adapter")
    if len(set(listed)) != len(listed):
        raise ValidationFailed.field("ids", "an adapter is listed twice")
    with lib.db.write() as session:
        # No ORDER BY over the whole table: only followers (adapters the caller did
        # not list, e.g. added meanwhile) need the compose order, and they are few.
        rows = session.connection().execute(  # Core: no ORM row loading for 10,000 rows
            select(Adapter.id, Adapter.ordinal).where(Adapter.deleted_at.is_(None))
        )
        current: dict[str, int | None] = {row[0]: row[1] for row in rows.all()}
        unknown = [i for i in listed if i not in current]
        if unknown:
            raise NotFound(f"no live adapter with id {unknown[0]!r}")
        chosen = set(listed)
        followers = [i for i, o in current.items() if i not in chosen and o is not None]
        if followers:
            followers = _in_compose_order(session, followers)
        changes = [
            (adapter_id, position)
            for position, adapter_id in enumerate([*listed, *followers])
            if current[adapter_id] != position
        ]
        if changes:
            shift = _longest_shift(changes, current)
            if shift is not None:
                _shift_ordinals(session.connection(), shift)
                moved = set(shift.ids)
                changes_by_id = [c for c in changes if c[0] not in moved]
            else:
                changes_by_id = changes
            if changes_by_id:
                _write_ordinals(session.connection(), changes_by_id)
    changed = tuple(adapter_id for adapter_id, _ in changes)
    if changed and publish:
        lib.publish(ChangeSet(updated=changed, reordered=True))
    return list(changed)


def warm_up(lib: Library) -> None:
    """Make the next ``save_order`` as fast as the ones after it; changes nothing.

    A process's first save also compiles its statements and reads every live
    ``(id, ordinal)`` from disk into the connection's cache: half as long again at
    10,000 rows. This does both (a range update that matches no row) on the calling
    thread; the window runs it on its save thread after the first paint.
    """
    with lib.db.write() as session:
        connection = session.connection()
        connection.execute(
            select(Adapter.id, Adapter.ordinal).where(Adapter.deleted_at.is_(None))
        ).all()
        _shift_ordinals(connection, _Shift((), first=1, last=0, delta=0))  # no row matches


@dataclass(frozen=True)
class _Shift:
    """A block of adapters whose ordinals ``first..last`` all move by ``delta``."""

    ids: tuple[str, ...]
    first: int
    last: int
    delta: int


def _longest_shift(changes: list[tuple[str, int]], current: dict[str, int | None]) -> _Shift | None:
    """The longest run of changes that one range UPDATE can write, if it is worth it.

    Dragging one row from the middle to the top shifts every row in between by one:
    a single ``ordinal = ordinal + 1`` over that range runs in SQLite instead of a
    bound statement per row. Only one range is used, and first: it then sees the
    original ordinals, so it can't catch a row another statement already moved.
    The range must hold exactly the run's rows (ordinals can repeat after a CLI
    ``activate --ordinal``), else the rows are written one by one.
    """
    best_start = best_length = 0
    start = length = 0
    previous_old = previous_new = 0
    for position, (adapter_id, new) in enumerate(changes):
        old = current[adapter_id]
        if old is None:
            length = 0
            continue
        if length and old == previous_old + 1 and new - old == previous_new - previous_old:
            length += 1
        else:
            start, length = position, 1
        previous_old, previous_new = old, new
        if length > best_length:
            best_start, best_length = start, length
    if best_length < _SHIFT_MIN:
        return None
    run = changes[best_start : best_start + best_length]
    first, last = current[run[0][0]], current[run[-1][0]]
    if first is None or last is None:  # a run never holds a row without an ordinal
        return None
    in_range = sum(1 for o in current.values() if o is not None and first <= o <= last)
    if in_range != len(run):
        return None
    return _Shift(tuple(i for i, _ in run), first, last, run[0][1] - first)


def _shift_ordinals(conn: Connection, shift: _Shift) -> None:
    """Move every live adapter with an ordinal in ``first..last`` by ``delta``."""
    conn.execute(
        update(Adapter)
        .where(
            Adapter.deleted_at.is_(None),
            Adapter.ordinal >= shift.first,
            Adapter.ordinal <= shift.last,
        )
        .values(ordinal=Adapter.ordinal + shift.delta, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _write_ordinals(conn: Connection, changes: list[tuple[str, int]]) -> None:
    """Write ``(id, ordinal)`` pairs, stamping ``updated_at``, in one executemany."""
    now = utcnow()
    if conn.dialect.paramstyle == "qmark":
        # SQLite: hand the rows straight to the driver. Core's per-row parameter
        # processing costs more than the 10,000 updates themselves.
        column_type = Adapter.__table__.c.updated_at.type
        process = column_type.bind_processor(conn.dialect)
        stamp = process(now) if process else now
        table = Adapter.__tablename__
        conn.exec_driver_sql(
            f"UPDATE {table} SET ordinal = ?, updated_at = ? WHERE id = ?",
            [(ordinal, stamp, adapter_id) for adapter_id, ordinal in changes],
        )
        return
    stmt = (
        update(Adapter)
        .where(Adapter.id == bindparam("row_id"))
        .values(ordinal=bindparam("new_ordinal"), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    conn.execute(stmt, [{"row_id": i, "new_ordinal": o} for i, o in changes])


def _in_compose_order(session: Session, ids: list[str]) -> list[str]:
    """``ids`` sorted in compose order (a bounded IN list, else one ordered scan)."""
    order = compose_order()
    if len(ids) <= _IN_LIST_MAX:
        stmt = select(Adapter.id).where(Adapter.id.in_(ids))
        return list(session.scalars(stmt.order_by(*order)))  # type: ignore[arg-type]
    wanted = set(ids)
    stmt = select(Adapter.id).where(Adapter.deleted_at.is_(None))
    return [i for i in session.scalars(stmt.order_by(*order)) if i in wanted]  # type: ignore[arg-type]
