"""Following files and folders the artist moved or renamed: the path changes, nothing else.

Moves are pure path rewrites applied in one transaction, in the order they
happened (so ``a → b`` then ``b → c`` ends at ``c``). The rows concerned are then
checked against the disk by the caller (a stat-based reconcile of the new paths).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lora_desktop.models.base import utcnow
from lora_desktop.models.tables import Adapter
from lora_desktop.services.library import Library

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Move:
    """One rename or move seen on disk."""

    src: str
    dest: str
    is_directory: bool


def _live() -> object:
    return Adapter.deleted_at.is_(None)


def _move_file(session: Session, move: Move, now: object) -> list[str]:
    row = session.execute(
        select(Adapter.id).where(_live(), Adapter.file_path == move.src)  # type: ignore[arg-type]
    ).first()
    if row is None:
        return []
    taken = session.scalar(
        select(Adapter.id).where(_live(), Adapter.file_path == move.dest)  # type: ignore[arg-type]
    )
    moved = [row.id]
    if taken is not None and taken != row.id:
        # Renamed over another registered file: that file is gone, so its row is
        # missing (all it holds kept, relinked if its content turns up again) and
        # gives up the path, which live rows never share.
        session.execute(
            update(Adapter)
            .where(Adapter.id == taken)
            .values(
                file_path=replaced_path(move.dest, taken), file_status="missing", updated_at=now
            )
        )
        moved.append(taken)
    session.execute(
        update(Adapter).where(Adapter.id == row.id).values(file_path=move.dest, updated_at=now)
    )
    return moved


def replaced_path(path: str, adapter_id: str) -> str:
    """Where a row whose file another was renamed over points: a name that is not on
    disk (so it stays missing) and says what happened."""
    return f"{path}.replaced-{adapter_id[:8]}"


def _move_folder(session: Session, move: Move, now: object) -> list[str]:
    src = move.src.rstrip(os.sep) + os.sep
    dest = move.dest.rstrip(os.sep) + os.sep
    under = func.substr(Adapter.file_path, 1, len(src)) == src
    ids = list(session.scalars(select(Adapter.id).where(_live(), under)))  # type: ignore[arg-type]
    if not ids:
        return []
    session.execute(
        update(Adapter)
        .where(_live(), under)  # type: ignore[arg-type]
        .values(
            file_path=literal(dest) + func.substr(Adapter.file_path, len(src) + 1),
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    return ids


def apply_moves(lib: Library, moves: Sequence[Move]) -> list[str]:
    """Rewrite the paths of every row under each move, in one transaction; return the ids.

    A file renamed onto another registered file takes that path; the other row
    becomes missing at ``replaced_path()`` (see ``_move_file``). If the
    batch clashes with the one-live-row-per-path rule, it is dropped whole and
    an empty list returned: the caller's reconcile then finds the files again.
    """
    if not moves:
        return []
    now = utcnow()
    moved: list[str] = []
    try:
        with lib.db.write() as session:
            for move in moves:
                if move.is_directory:
                    moved.extend(_move_folder(session, move, now))
                else:
                    moved.extend(_move_file(session, move, now))
    except IntegrityError:
        log.warning("moves clashed with registered paths; leaving them to the reconcile")
        return []
    return list(dict.fromkeys(moved))
