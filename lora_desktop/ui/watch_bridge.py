"""The library folders in the window: watching, reconciling, and what the status bar says.

Threads: watchdog calls ``LibraryWatcher``'s callbacks on its observer thread;
they only emit ``WatchBridge.event_arrived`` / ``status_arrived``, connected with
``QueuedConnection`` to slots on the GUI thread. There a single-shot ``QTimer``
debounces (until the watcher's settle delay has passed), and the work itself
(moves, stat-based reconciles, re-hashing) runs on the bridge's own one-thread
``QThreadPool`` (``JobRunner``). Rows change through the services, so the
library's change broadcast updates only the affected rows of the list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from lora_desktop.models.schemas import ReconcileReport
from lora_desktop.services.library import Library
from lora_desktop.services.relink import confirm_relinked, locate_missing
from lora_desktop.services.watch_loop import lower_thread_priority, rehash
from lora_desktop.services.watcher import LibraryWatcher, ProcessResult
from lora_desktop.ui.workers import JobRunner

log = logging.getLogger(__name__)

SETTLE_SECONDS = 1.0
"""Quiet time before a path is checked (tests lower it)."""
ROOT_CHECK_MS = 2000
"""How often the folders' presence is checked (an unplugged drive sends no event)."""
IDLE_RECONCILE_MS = 10 * 60 * 1000
"""How often a full reconcile runs at idle priority, catching what events missed."""

Work = Callable[[Callable[[], bool], Callable[[int, int], None]], Any]


def report_text(report: ReconcileReport) -> str:
    """A one-line summary of a reconcile for the status bar."""
    parts = [
        (len(report.missing), "missing"),
        (len(report.unavailable), "unavailable"),
        (len(report.restored), "back"),
        (len(report.changed), "changed"),
        (len(report.relinked), "relinked"),
        (len(report.added), "added"),
    ]
    said = ", ".join(f"{n:,} {what}" for n, what in parts if n)
    return said or "nothing changed"


class WatchBridge(QObject):
    """Runs a ``LibraryWatcher`` for the window (see the module docstring for threads)."""

    event_arrived = Signal()
    """Emitted on the observer thread; delivered queued to the GUI thread."""
    status_arrived = Signal(str)
    """A watcher message, emitted on any thread; delivered queued."""
    status_changed = Signal(str)
    """What the status bar should say about watching (GUI thread)."""
    message = Signal(str)
    """A passing message (GUI thread)."""
    processed = Signal(object)
    """A ``ProcessResult`` or ``ReconcileReport`` after a job ended (GUI thread)."""

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self.watcher = LibraryWatcher(
            library,
            settle=SETTLE_SECONDS,
            on_event=self.event_arrived.emit,
            on_status=self.status_arrived.emit,
        )
        self.event_arrived.connect(self._on_self_event_arrived, Qt.ConnectionType.QueuedConnection)
        self.status_arrived.connect(
            self._on_self_status_arrived, Qt.ConnectionType.QueuedConnection
        )
        self.runner = JobRunner(self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        self._roots_timer = QTimer(self)
        self._roots_timer.setInterval(ROOT_CHECK_MS)
        self._roots_timer.timeout.connect(self._on_roots_timer_timeout)
        self._idle_timer = QTimer(self)
        self._idle_timer.setInterval(IDLE_RECONCILE_MS)
        self._idle_timer.timeout.connect(self._on_idle_timer_timeout)
        self._busy = False
        self._again = False
        self._started = False
        self._closing = False
        self._stop = threading.Event()
        self.last_status = ""
        self._idle: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Start watching and reconcile the library, in the background (after first paint)."""
        if self._started or self._closing:
            return
        self._started = True

        def work(stop: Callable[[], bool], _progress: Callable[[int, int], None]) -> Any:
            self.watcher.start()
            report = self.watcher.reconcile_all()
            if not stop():
                confirm_relinked(self._library, report.relinked, should_stop=stop)
                self.watcher.fill_missing_keys(should_stop=stop)
            return report

        self._run(work, self._on_start_job_succeeded)
        self._roots_timer.start()
        self._idle_timer.start()

    def shutdown(self) -> None:
        """Stop timers, background work and the observers (at most a few seconds)."""
        if self._closing:
            return
        self._closing = True
        self._stop.set()
        for timer in (self._debounce, self._roots_timer, self._idle_timer):
            timer.stop()
        self.runner.shutdown()
        if self._idle is not None:
            self._idle.join(3)
        try:
            self.watcher.stop()
        except Exception:  # never keep the window from closing
            log.exception("stopping the watcher failed")

    # -- actions ------------------------------------------------------------

    def rescan(self) -> None:
        """Library → Rescan: reconcile every row now (in the background)."""
        self.message.emit("Rescanning the library…")
        self._run(lambda _s, _p: self._full(), self._on_rescan_job_succeeded)

    def locate_missing(self, folder: str) -> None:
        """Library → Locate missing…: relink missing files found in ``folder``."""
        self.message.emit(f"Looking for missing files in {folder}…")

        def work(stop: Callable[[], bool], _progress: Callable[[int, int], None]) -> Any:
            ids = locate_missing(self._library, folder)
            confirm_relinked(self._library, ids, should_stop=stop)
            return ids

        self._run(work, self._on_locate_job_succeeded)

    def refresh_folders(self) -> None:
        """The folders changed (dialog): watch the new set and reconcile."""

        def work(_stop: Callable[[], bool], _progress: Callable[[int, int], None]) -> Any:
            if self._started:
                self.watcher.refresh()
            return self._full()

        self._run(work, self._on_rescan_job_succeeded)

    def status_text(self) -> str:
        """ "Watching 3 folders", with what is unavailable or polled."""
        watched = self.watcher.watched
        text = f"Watching {len(watched)} folder{'s' if len(watched) != 1 else ''}"
        if self.watcher.unavailable:
            text += f" · {len(self.watcher.unavailable)} unavailable"
        if self.watcher.polled:
            text += f" · {len(self.watcher.polled)} polled"
        return text

    # -- internals ----------------------------------------------------------

    def _full(self) -> ReconcileReport:
        report = self.watcher.reconcile_all()
        confirm_relinked(self._library, report.relinked, should_stop=self._stop.is_set)
        return report

    def _run(self, work: Work, done: Callable[[object], None]) -> bool:
        if self._closing:
            return False
        handle = self.runner.start(work, succeeded=done, failed=self._on_job_failed)
        return handle is not None

    def _arm(self) -> None:
        """Start the debounce timer for when the watcher next has something due."""
        if self._closing:
            return
        due = self.watcher.next_due()
        if due is None:
            return
        wanted = int(due * 1000) + 10
        if not self._debounce.isActive() or self._debounce.remainingTime() > wanted:
            self._debounce.start(wanted)

    def _process(self) -> None:
        if self._busy:
            self._again = True
            return
        self._busy = True

        def work(stop: Callable[[], bool], _progress: Callable[[int, int], None]) -> Any:
            self.watcher.check_roots()
            result = self.watcher.process()
            if result.changed and not stop():
                rehash(self._library, result.changed)
            if result.relinked and not stop():
                confirm_relinked(self._library, result.relinked, should_stop=stop)
            return result

        if not self._run(work, self._on_process_job_succeeded):
            self._busy = False

    def _set_status(self, text: str) -> None:
        if text != self.last_status:
            self.last_status = text
            self.status_changed.emit(text)

    # -- slots ----------------------------------------------------------------

    def _on_self_event_arrived(self) -> None:
        self._arm()

    def _on_self_status_arrived(self, text: str) -> None:
        if self._closing:
            return
        self.message.emit(text)
        self._set_status(self.status_text())

    def _on_debounce_timeout(self) -> None:
        if not self._closing:
            self._process()

    def _on_roots_timer_timeout(self) -> None:
        if not self._closing and not self._busy:
            self._process()

    def _on_idle_timer_timeout(self) -> None:
        if self._closing or (self._idle is not None and self._idle.is_alive()):
            return
        # A plain thread of its own: idle priority must not stick to the pool thread
        # that handles events (a rename must still show at once).
        self._idle = threading.Thread(target=self._idle_pass, name="watch-idle", daemon=True)
        self._idle.start()

    def _idle_pass(self) -> None:
        """The periodic reconcile, on its own idle-priority thread; changes reach the
        list through the library's broadcast."""
        lower_thread_priority()
        try:
            self.watcher.reconcile_all()
            self.watcher.fill_missing_keys(should_stop=self._stop.is_set)
        except Exception:
            log.exception("idle reconcile failed")
        if not self._stop.is_set():
            self.event_arrived.emit()  # re-arm for files found still settling

    def _on_start_job_succeeded(self, report: object) -> None:
        if self._closing:
            return
        self._set_status(self.status_text())
        if isinstance(report, ReconcileReport):
            self.processed.emit(report)
        self._arm()

    def _on_process_job_succeeded(self, result: object) -> None:
        self._busy = False
        if self._closing:
            return
        if isinstance(result, ProcessResult):
            self.processed.emit(result)
        self._set_status(self.status_text())
        if self._again:
            self._again = False
            self._process()
        else:
            self._arm()

    def _on_rescan_job_succeeded(self, report: object) -> None:
        if self._closing or not isinstance(report, ReconcileReport):
            return
        self.message.emit(f"Rescan: {report_text(report)}")
        self._set_status(self.status_text())
        self.processed.emit(report)
        self._arm()

    def _on_locate_job_succeeded(self, ids: object) -> None:
        if self._closing or not isinstance(ids, list):
            return
        self.message.emit(f"Relinked {len(ids):,} missing file{'s' if len(ids) != 1 else ''}")
        self.processed.emit(ids)

    def _on_job_failed(self, message: str) -> None:
        self._busy = False
        if not self._closing:
            self.message.emit(f"Watching: {message}")
