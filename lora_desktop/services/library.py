"""Opening a library, and the handle every service call takes."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from lora_desktop.models.database import (
    Database,
    StoreError,
    create_library_engine,
    resolve_database_url,
)
from lora_desktop.models.migrate import UpgradeReport, upgrade_library
from lora_desktop.services.errors import LibraryUnavailable
from lora_desktop.services.window_busy import WindowBusy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeSet:
    """What a service call changed, by adapter id: one broadcast tells every view."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reordered: bool = False
    jobs: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.reordered or self.jobs)


ChangeListener = Callable[[ChangeSet], None]


@dataclass
class Library:
    """An open library: its database and the listeners told of each change.

    Listeners are called on the thread that made the change, after it committed.
    """

    db: Database
    upgrade: UpgradeReport | None = None
    window_busy: WindowBusy = field(default_factory=WindowBusy)
    """Set while a window paints its list: long background loops wait their turn."""
    _listeners: list[ChangeListener] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _hash_runs: int = 0

    @property
    def hashing(self) -> bool:
        """Whether a hash run is going (``hash_service.hash_pending``): background
        bookkeeping that can wait, such as the watcher's quick keys, waits for its end."""
        return self._hash_runs > 0

    @contextmanager
    def hash_run(self) -> Iterator[None]:
        """Mark a hash run for its duration (see ``hashing``)."""
        with self._lock:
            self._hash_runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._hash_runs -= 1

    def subscribe(self, listener: ChangeListener) -> None:
        """Call ``listener`` with every change set from now on."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: ChangeListener) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, changes: ChangeSet) -> None:
        """Tell every listener what changed (nothing if the change set is empty)."""
        if not changes:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(changes)
            except Exception:
                log.exception("change listener failed")

    def start_background_checkpoints(self) -> bool:
        """For a long-running process: SQLite's log is copied into the file by a
        background thread, not by whichever commit fills it (see ``Database``)."""
        return self.db.start_checkpoints()

    def close(self) -> None:
        """Stop background checkpoints; close the database connections."""
        self.db.dispose()


def open_library(location: str | os.PathLike[str] | None = None) -> Library:
    """Open (creating or upgrading as needed) the library at ``location``.

    ``location`` is a file path or a database URL; None picks ``LORA_DESKTOP_DATABASE``,
    then ``DATABASE_URL``, then the per-user default.

    Raises:
        LibraryUnavailable: the location cannot be used, or the schema is newer than this app.
    """
    try:
        url = resolve_database_url(location)
        engine = create_library_engine(url)
    except StoreError as exc:
        raise LibraryUnavailable(exc.title, exc.detail) from exc
    try:
        report = upgrade_library(engine)
    except StoreError as exc:
        engine.dispose()
        raise LibraryUnavailable(exc.title, exc.detail) from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise LibraryUnavailable(
            "Library cannot be opened",
            f"cannot open the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{reason}",
        ) from exc
    return Library(Database(engine), report)
