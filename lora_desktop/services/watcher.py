"""Watching the library folders with watchdog: one observer, a recursive watch per folder.

Threads: the event handler runs on watchdog's observer thread and only records
into an ``EventQueue`` (then calls ``on_event``). ``process()`` runs wherever the
caller runs it (a worker thread: it touches the database and the disk) and
applies what is due: moves in one transaction, then a stat-based reconcile of
the paths and folders concerned. Events are hints; the disk is the truth.

When watching fails: an inotify queue overflow (watchdog only logs it) and a
watched folder that disappears both lead to a full reconcile of the folder; a
folder that cannot be watched because the system's watch limit is reached is
polled instead, with a one-time hint. ``check_roots()`` notices folders that
come back (an unplugged drive) and watches them again.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lora_desktop.models.schemas import ReconcileReport
from lora_desktop.services.folders import folder_of, list_folders
from lora_desktop.services.library import ChangeSet, Library
from lora_desktop.services.moves import apply_moves
from lora_desktop.services.reconcile import reconcile
from lora_desktop.services.relink import fill_quick_keys, store_quick_keys
from lora_desktop.services.watch_queue import EVENTS_WATCHED, EventQueue, RecordingHandler

if TYPE_CHECKING:  # watchdog itself is imported when watching starts, not with the window
    from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger(__name__)

OVERFLOW_TEXT = "Inotify queue overflowed"
LIMIT_HINT = (
    "the system's limit of watched folders is reached; {folder} is polled instead "
    "(slower). Raise it: sudo sysctl fs.inotify.max_user_watches=524288"
)

Notify = Callable[[], None]
StatusNotify = Callable[[str], None]


@dataclass
class ProcessResult:
    """What one ``process()`` call did."""

    moved: list[str] = field(default_factory=list)
    reports: list[ReconcileReport] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    """Paths and folders looked at (those still settling are in a report's ``waiting``)."""

    @property
    def relinked(self) -> list[str]:
        """Ids relinked by any of the reconciles."""
        return [i for r in self.reports for i in r.relinked]

    @property
    def changed(self) -> list[str]:
        """Ids whose file changed (re-hash due)."""
        return [i for r in self.reports for i in r.changed]


class _OverflowLogHandler(logging.Handler):
    """Notices watchdog's "Inotify queue overflowed" warning (the only sign of lost events)."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        """logging.Handler.emit: on the thread that logged (watchdog's)."""
        if OVERFLOW_TEXT in record.getMessage():
            self._on_overflow()


class LibraryWatcher:
    """Watches every library folder and applies what happens there to the library.

    Args:
        lib: the open library.
        settle: seconds a path must stay quiet before it is checked (a new file
            is imported only after two checks a settle apart saw the same size).
        on_event: called on the observer thread after each recorded event.
        on_status: called with a short message ("Folder X unavailable") on the
            thread that noticed it.
        polling_interval: seconds between scans of a polled folder.
    """

    def __init__(
        self,
        lib: Library,
        *,
        settle: float = 1.0,
        on_event: Notify | None = None,
        on_status: StatusNotify | None = None,
        polling_interval: float = 2.0,
    ) -> None:
        self.lib = lib
        self.settle = settle
        self.queue = EventQueue()
        self.lock = threading.RLock()
        """Held while processing; the idle reconcile takes it too."""
        self._on_event = on_event or (lambda: None)
        self._on_status = on_status or (lambda _text: None)
        self._polling_interval = polling_interval
        self._roots: set[str] = set()
        self._watches: dict[str, tuple[BaseObserver, ObservedWatch]] = {}
        self.polled: set[str] = set()
        self.unavailable: set[str] = set()
        self._hinted = False
        self._seen: dict[str, tuple[int, int]] = {}
        self._observer: BaseObserver | None = None
        self._poller: BaseObserver | None = None
        self._overflow = _OverflowLogHandler(self._on_overflow)
        self._handler = RecordingHandler(self.queue, self._roots, self._notify, self._on_root_lost)
        self._state_lock = threading.Lock()
        self._needs_key: set[str] = set()
        self._fill_later = False

    # -- starting and stopping -----------------------------------------------

    def start(self) -> None:
        """Start the observer and watch every library folder (may take a while on big trees)."""
        logging.getLogger("watchdog.observers").addHandler(self._overflow)
        # A folder moved inside a watched tree keeps its inode, so inotify hands back
        # the same watch descriptor and watchdog warns that it re-registers it. The
        # warning is harmless, and raised as an error (tests) it would kill watchdog's thread.
        warnings.filterwarnings(
            "ignore", message="Callback with id .* already exists", category=RuntimeWarning
        )
        self.lib.subscribe(self._on_library_changed)
        from watchdog.observers import Observer

        self._observer = Observer()
        self._observer.start()
        self.refresh()

    def stop(self) -> None:
        """Stop every observer and wait for them (at most 5 s each)."""
        logging.getLogger("watchdog.observers").removeHandler(self._overflow)
        self.lib.unsubscribe(self._on_library_changed)
        for observer in (self._observer, self._poller):
            if observer is None:
                continue
            observer.stop()
            observer.join(5)
        self._observer = self._poller = None
        with self._state_lock:
            self._watches.clear()

    @property
    def watched(self) -> list[str]:
        """Folders being watched (by events or polling), sorted."""
        with self._state_lock:
            return sorted(self._watches)

    def refresh(self) -> None:
        """Re-read the library folders: watch new ones, drop removed ones."""
        folders = {f.path for f in list_folders(self.lib)}
        with self._state_lock:
            current = set(self._watches)
            self._roots.clear()
            self._roots.update(folders)
        for folder in current - folders:
            self._unwatch(folder)
            self.unavailable.discard(folder)
        for folder in sorted(folders - current):
            self._watch(folder)

    def check_roots(self) -> bool:
        """Notice folders gone or back (no event says so); True if one changed.

        Call it now and then (any thread). A folder back is watched again and
        reconciled whole; a folder gone is reconciled (its rows become unavailable).
        """
        changed = False
        for folder in sorted(self._roots):
            present = os.path.isdir(folder)
            with self._state_lock:
                watching = folder in self._watches and folder not in self.unavailable
            if present and not watching:
                self._watch(folder)
                changed = True
            elif not present and watching:
                self._on_root_lost(folder)
                changed = True
        return changed

    def _watch(self, folder: str) -> None:
        if not os.path.isdir(folder):
            self._lost(folder)
            return
        self._unwatch(folder)
        observer = self._observer
        assert observer is not None, "start() first"
        try:
            watch = observer.schedule(
                self._handler, folder, recursive=True, event_filter=EVENTS_WATCHED
            )
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EMFILE):
                log.warning("cannot watch %s: %s", folder, exc)
                self._lost(folder)
                return
            observer, watch = self._poll(folder)
        with self._state_lock:
            self._watches[folder] = (observer, watch)
            back = folder in self.unavailable
            self.unavailable.discard(folder)
        if back:
            self._on_status(f"Folder {folder} is back")
            self.queue.folder(folder)
            self._notify()

    def _poll(self, folder: str) -> tuple[BaseObserver, ObservedWatch]:
        if self._poller is None:
            from watchdog.observers.polling import PollingObserver

            self._poller = PollingObserver(timeout=self._polling_interval)
            self._poller.start()
        watch = self._poller.schedule(
            self._handler, folder, recursive=True, event_filter=EVENTS_WATCHED
        )
        self.polled.add(folder)
        with self._state_lock:
            first, self._hinted = not self._hinted, True
        if first:  # the hint once; later folders only say they are polled
            log.warning(LIMIT_HINT.format(folder=folder))
            self._on_status(f"Polling {folder}: raise fs.inotify.max_user_watches")
        else:
            log.info("watch limit reached; %s is polled instead", folder)
        return self._poller, watch

    def _unwatch(self, folder: str) -> None:
        with self._state_lock:
            entry = self._watches.pop(folder, None)
        if entry is None:
            return
        observer, watch = entry
        # Its emitter may have stopped already (the folder was deleted).
        with contextlib.suppress(KeyError, RuntimeError):
            observer.unschedule(watch)
        self.polled.discard(folder)

    def _lost(self, folder: str) -> None:
        with self._state_lock:
            new = folder not in self.unavailable
            self.unavailable.add(folder)
        if new:
            self._on_status(f"Folder {folder} unavailable")

    # -- observer-thread callbacks ------------------------------------------

    def _notify(self) -> None:
        """Called on the observer thread after each recorded event."""
        self._on_event()

    def _on_root_lost(self, folder: str) -> None:
        """A watched folder was deleted or unplugged (observer thread, or ``check_roots``)."""
        self._unwatch(folder)
        self._lost(folder)
        self.queue.folder(folder)
        self._notify()

    def _on_library_changed(self, changes: ChangeSet) -> None:
        """New rows get a quick key soon, so a later move can be relinked (after the hash
        run going, if any: it reads the same files, and its hashes come first).

        Called by the library on the thread that added them.
        """
        with self._state_lock:
            self._needs_key.update(changes.added)
            waiting = bool(self._needs_key) or self._fill_later
        # New rows, or a hash run's results (its end: the keys put off for it are due).
        if changes.added or (changes.updated and waiting):
            self._notify()

    def fill_missing_keys(self, should_stop: Callable[[], bool] | None = None) -> int:
        """``relink.fill_quick_keys`` (rows without a quick key), unless a hash run is
        going: then after its end (``process``, woken by its results). Returns how many
        keys were stored now."""
        if self.lib.hashing:
            with self._state_lock:
                self._fill_later = True
            return 0
        return fill_quick_keys(self.lib, should_stop=should_stop)

    def _on_overflow(self) -> None:
        """Events were lost (called on the thread that logged the overflow)."""
        for folder in list(self._roots):
            self.queue.folder(folder)
        self._notify()

    # -- processing ----------------------------------------------------------

    def stable(self, path: str, st: os.stat_result) -> bool:
        """A new file may be imported once two checks a settle apart saw the same size."""
        ident = (st.st_size, st.st_mtime_ns)
        with self._state_lock:
            same = self._seen.get(path) == ident
            self._seen[path] = ident
            if same:
                del self._seen[path]
        return same

    def next_due(self) -> float | None:
        """Seconds until ``process()`` has something to do, or None."""
        return self.queue.next_due(self.settle)

    def process(self) -> ProcessResult:
        """Apply what is due (call it off the GUI thread; it reads files and writes rows)."""
        result = ProcessResult()
        with self._state_lock:
            if self.lib.hashing:  # the run reads the same files: the keys wait for its end
                keys, fill = set(), False
            else:
                keys, self._needs_key = self._needs_key, set()
                fill, self._fill_later = self._fill_later, False
        if keys:
            store_quick_keys(self.lib, sorted(keys))
        if fill:
            fill_quick_keys(self.lib)
        with self.lock:
            batch = self.queue.take(self.settle)
            if not batch:
                return result
            result.checked = [*batch.paths, *batch.folders, *(m.dest for m in batch.moves)]
            result.moved = apply_moves(self.lib, batch.moves)
            folders = [f for f in batch.folders if f in self._roots]
            paths = [p for p in batch.paths if folder_of(p, folders) is None]
            for folder in folders:
                result.reports.append(reconcile(self.lib, [folder], stable=self.stable))
            if paths or result.moved:
                report = reconcile(self.lib, paths, stable=self.stable)
                result.reports.append(report)
            if result.moved:
                self.lib.publish(ChangeSet(updated=tuple(result.moved)))
            for report in result.reports:
                for path in report.waiting:
                    self.queue.touch(path)
        return result

    def reconcile_all(self, settle: float | None = None) -> ReconcileReport:
        """A full reconcile (start-up, Rescan, the idle pass); new files still being
        written are queued to be checked again."""
        with self.lock:
            report = reconcile(
                self.lib, stable=self.stable if settle is None else None, settle=settle or 0.0
            )
        for path in report.waiting:
            self.queue.touch(path)
        if report.waiting:
            self._notify()
        return report
