"""Library folders: the folders the app watches, stored in the database (issue 5)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from lora_desktop.models.base import new_id, utcnow
from lora_desktop.models.schemas import LibraryFolderOut
from lora_desktop.models.tables import LibraryFolder
from lora_desktop.services.errors import Conflict, FileProblem, InvalidParam, NotFound
from lora_desktop.services.library import Library
from lora_desktop.services.registration import normalise_path

log = logging.getLogger(__name__)


def is_under(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both normalised)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def folder_of(path: str, folders: Iterable[str]) -> str | None:
    """The library folder holding ``path`` (the deepest one), or None."""
    best: str | None = None
    for folder in folders:
        if is_under(path, folder) and (best is None or len(folder) > len(best)):
            best = folder
    return best


def _out(row: LibraryFolder) -> LibraryFolderOut:
    return LibraryFolderOut(
        id=row.id,
        path=row.path,
        auto_import=row.auto_import,
        created_at=row.created_at,
        exists=os.path.isdir(row.path),
    )


def list_folders(lib: Library) -> list[LibraryFolderOut]:
    """Every library folder, by path."""
    with lib.db.read() as session:
        rows = session.scalars(select(LibraryFolder).order_by(LibraryFolder.path)).all()
        return [_out(r) for r in rows]


def _problem(detail: str) -> FileProblem:
    return FileProblem(detail, [InvalidParam("path", detail)])


def check_folder(lib: Library, path: str, existing: Sequence[str] = ()) -> str:
    """Check that ``path`` can be a library folder; return it normalised.

    Raises:
        FileProblem: it does not exist, is not a folder, or holds the library's database
            (its own writes would feed the watcher).
        Conflict: it is already a library folder, or inside or around one.
    """
    folder = normalise_path(path)
    if not os.path.exists(folder):
        raise _problem(f"{folder} does not exist")
    if not os.path.isdir(folder):
        raise _problem(f"{folder} is not a folder")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise _problem(f"{folder} cannot be read by this user; fix its permissions")
    database = lib.db.path
    if database is not None:
        db_file = normalise_path(database)
        if is_under(db_file, folder) or is_under(
            os.path.realpath(db_file), os.path.realpath(folder)
        ):
            raise _problem(
                f"{folder} holds the library's database ({db_file}); its own writes would feed "
                "the watcher. Move the database elsewhere (--database) or pick another folder"
            )
    for other in existing:
        if other == folder:
            raise Conflict(
                f"{folder} is already a library folder",
                [InvalidParam("path", "already a library folder")],
            )
        if is_under(folder, other):
            raise Conflict(
                f"{folder} is inside the library folder {other}, which is already watched",
                [InvalidParam("path", f"inside {other}")],
            )
        if is_under(other, folder):
            raise Conflict(
                f"{folder} contains the library folder {other}; remove that one first",
                [InvalidParam("path", f"contains {other}")],
            )
    return folder


def add_folder(lib: Library, path: str, *, auto_import: bool = True) -> LibraryFolderOut:
    """Add a library folder (see ``check_folder`` for what is refused)."""
    with lib.db.write() as session:
        existing = list(session.scalars(select(LibraryFolder.path)))
        folder = check_folder(lib, path, existing)
        row = LibraryFolder(id=new_id(), path=folder, auto_import=auto_import, created_at=utcnow())
        session.add(row)
        session.flush()
        out = _out(row)
    log.info("library folder added: %s (auto-import %s)", folder, auto_import)
    return out


def _load(session: object, ref: str) -> LibraryFolder:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    row = session.get(LibraryFolder, ref)
    if row is None:
        row = session.scalar(select(LibraryFolder).where(LibraryFolder.path == normalise_path(ref)))
    if row is None:
        raise NotFound(f"no library folder {ref!r}")
    return row


def remove_folder(lib: Library, ref: str) -> LibraryFolderOut:
    """Stop watching a folder (by id or path). Its adapters stay registered.

    Raises:
        NotFound: no such library folder.
    """
    with lib.db.write() as session:
        row = _load(session, ref)
        out = _out(row)
        session.delete(row)
    return out


def set_auto_import(lib: Library, ref: str, auto_import: bool) -> LibraryFolderOut:
    """Turn importing new files of a folder on or off.

    Raises:
        NotFound: no such library folder.
    """
    with lib.db.write() as session:
        row = _load(session, ref)
        row.auto_import = auto_import
        session.flush()
        return _out(row)
