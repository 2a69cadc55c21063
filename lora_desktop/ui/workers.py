"""Background work on a QThreadPool: a runnable holding a callable and plain inputs.

The runnable's signal holder is a QObject created (and owned) on the GUI thread,
so its signals reach GUI slots by queued connections. Each job has a success
and a failure path, and a stop flag the callable can poll. The runnable itself
is the pool's (auto-deleted after it runs): we keep only its signal holder and
stop flag.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from lora_desktop.services.errors import DomainError

log = logging.getLogger(__name__)

StopCheck = Callable[[], bool]
ProgressReport = Callable[[int, int], None]
Work = Callable[[StopCheck, ProgressReport], Any]


class JobSignals(QObject):
    """What a job reports; emitted on the worker thread, delivered on the GUI thread."""

    progress = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)


class JobHandle:
    """The GUI thread's grip on a job: its signals and its stop flag."""

    def __init__(self, signals: JobSignals, stop: threading.Event) -> None:
        self.signals = signals
        self._stop = stop

    def request_stop(self) -> None:
        """Ask the work to stop at its next check."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        """Whether a stop was asked for."""
        return self._stop.is_set()


class _Job(QRunnable):
    """Run ``work(stop_requested, report_progress)`` once on a pool thread."""

    def __init__(self, work: Work, signals: JobSignals, stop: threading.Event) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._work = work
        self._signals = signals
        self._stop = stop

    def run(self) -> None:
        """Run the work (QRunnable.run, on a pool thread); report its end either way."""
        signals = self._signals
        try:
            result = self._work(self._stop.is_set, signals.progress.emit)
        except DomainError as exc:
            signals.failed.emit(exc.detail)
        except Exception as exc:  # a bug: keep the app alive and say so
            log.exception("background job failed")
            signals.failed.emit(f"unexpected error: {exc}")
        else:
            signals.succeeded.emit(result)


class JobRunner(QObject):
    """Owns a thread pool and the jobs on it; stops them all on shutdown."""

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 1) -> None:
        super().__init__(parent)
        # One thread: library writes are serial anyway (SQLite has one writer).
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._handles: list[JobHandle] = []
        self._closing = False

    @property
    def busy(self) -> bool:
        """Whether a job is queued or running."""
        return bool(self._handles)

    def start(
        self,
        work: Work,
        *,
        succeeded: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> JobHandle | None:
        """Queue ``work`` with its slots; None once shut down.

        Pass the slots here: they are connected before the job can run. A slot
        connected to the returned handle afterwards misses a job that ended first
        (a queued signal goes to the connections made when it is emitted): a hash
        run with nothing to do once left its controller waiting for ever.
        """
        if self._closing:
            return None
        signals = JobSignals(self)
        handle = JobHandle(signals, threading.Event())
        self._handles.append(handle)
        # Bound slots of this GUI-thread object: Qt queues the calls to this thread.
        signals.succeeded.connect(self._on_job_succeeded)
        signals.failed.connect(self._on_job_failed)
        if succeeded is not None:
            signals.succeeded.connect(succeeded)
        if failed is not None:
            signals.failed.connect(failed)
        if progress is not None:
            signals.progress.connect(progress)
        self._pool.start(_Job(work, signals, handle._stop))
        return handle

    @Slot(object)
    def _on_job_succeeded(self, _result: object) -> None:
        self._forget(self.sender())

    @Slot(str)
    def _on_job_failed(self, _message: str) -> None:
        self._forget(self.sender())

    def _forget(self, signals: QObject | None) -> None:
        # The signal holder stays (a child of this runner) until the runner goes:
        # deleting it now could race with the worker thread finishing its emit.
        self._handles = [h for h in self._handles if h.signals is not signals]

    def shutdown(self, timeout_ms: int = 4000) -> bool:
        """Stop every job, drop queued ones, wait for the running one; True if all ended."""
        self._closing = True
        for handle in self._handles:
            handle.request_stop()
            # Late results must not reach a window being torn down.
            handle.signals.blockSignals(True)
        self._pool.clear()
        done = self._pool.waitForDone(timeout_ms)
        if not done:
            log.warning("background work still running after %d ms", timeout_ms)
        self._handles.clear()
        return done
