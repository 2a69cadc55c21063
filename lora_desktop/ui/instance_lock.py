"""One window per library: a lock file beside the database file.

A server database (PostgreSQL) has no file, so it gets no lock: a studio
sharing one server library may open it from several machines.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QLockFile

from lora_desktop.services.errors import DomainError

log = logging.getLogger(__name__)


class LibraryAlreadyOpen(DomainError):
    """Another LoRA Desk window (this process or another) holds the library's lock."""

    slug = "library-already-open"
    title = "Library already open"


def lock_path(database_file: Path) -> Path:
    """The lock file of a SQLite database file: ``<file>.lock`` beside it."""
    return database_file.with_name(database_file.name + ".lock")


def acquire_library_lock(database_file: Path | None) -> QLockFile | None:
    """Take the library's lock, or None for a database without a file.

    Raises:
        LibraryAlreadyOpen: another window holds it; the message names its process.
    """
    if database_file is None:
        return None
    path = lock_path(database_file)
    lock = QLockFile(str(path))
    # 0: never treat a live holder's lock as stale, however long it runs; a lock
    # left by a crashed process is still detected (its process is gone).
    lock.setStaleLockTime(0)
    if lock.tryLock(0):
        log.debug("locked %s", path)
        return lock
    pid, host, _app = lock.getLockInfo()
    holder = f" by process {pid} on {host or 'this machine'}" if pid > 0 else ""
    raise LibraryAlreadyOpen(
        f"The library {database_file} is already open{holder}. "
        "Switch to that window, or close it first."
    )
