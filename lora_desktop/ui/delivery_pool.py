"""Delivery jobs run on their own QThreadPool, with bounded concurrency.

Each job is a row first (the services' ``enqueue``); this pool only runs
``deliveries.run_job`` for job ids, one ``threading.Event`` per job as its cancel
signal. Job state reaches the window through the library's change broadcast,
not through this pool: its signals only say that a run ended.

Closing the window mid-delivery loses nothing: queued runs are dropped (their
rows stay ``pending``), running ones are interrupted (their events set, so a CLI
program's process group is killed and an HTTP exchange stops at its next chunk)
and put back to ``pending``, so the next start resumes them.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library
from lora_desktop.ui import settings as keys

log = logging.getLogger(__name__)

KEY_CONCURRENCY = "deliveries/concurrency"
DEFAULT_CONCURRENCY = 2
MAX_CONCURRENCY = 8
SHUTDOWN_WAIT_MS = 3000
"""How long closing waits for running jobs (the app must exit within 5 s)."""


def clamp_concurrency(number: int) -> int:
    """``number`` brought within 1 … ``MAX_CONCURRENCY``."""
    return min(max(number, 1), MAX_CONCURRENCY)


def concurrency_setting() -> int:
    """How many deliveries run at once (QSettings ``deliveries/concurrency``, default 2)."""
    value = keys.app_settings().value(KEY_CONCURRENCY, DEFAULT_CONCURRENCY)
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return DEFAULT_CONCURRENCY
    return clamp_concurrency(number)


class _RunSignals(QObject):
    """Emitted on a pool thread, delivered on the GUI thread (this object lives there)."""

    ended = Signal(str, str)
    """Job id and its final status."""
    failed = Signal(str, str)
    """Job id and what went wrong (a bug or a closed library: not a delivery failure)."""


class _RunJob(QRunnable):
    """``run_job(library, job_id, cancel=event)`` once, on a pool thread."""

    def __init__(
        self,
        library: Library,
        job_id: str,
        cancel: threading.Event,
        signals: _RunSignals,
        started: set[str],
        lock: threading.Lock,
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._library = library
        self._job_id = job_id
        self._cancel = cancel
        self._signals = signals
        self._started = started
        self._lock = lock

    def run(self) -> None:
        """QRunnable.run: deliver the job (on a pool thread) and report how it ended."""
        from lora_desktop.services import deliveries

        with self._lock:
            self._started.add(self._job_id)
        try:
            out = deliveries.run_job(self._library, self._job_id, cancel=self._cancel)
        except DomainError as exc:
            self._signals.failed.emit(self._job_id, exc.detail)
        except Exception as exc:  # a bug or a library closed under us: keep the app alive
            log.exception("delivery job %s failed to run", self._job_id)
            self._signals.failed.emit(self._job_id, f"unexpected error: {exc}")
        else:
            self._signals.ended.emit(self._job_id, out.status)


class DeliveryPool(QObject):
    """Runs delivery jobs by id on a dedicated pool; cancels and interrupts them."""

    ended = Signal(str, str)
    """A run ended: job id and its final status (GUI thread)."""
    failed = Signal(str, str)
    """A run could not be made: job id and a plain-text message (GUI thread)."""

    def __init__(
        self, library: Library, parent: QObject | None = None, *, max_threads: int | None = None
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(clamp_concurrency(max_threads or concurrency_setting()))
        self._signals = _RunSignals(self)
        self._signals.ended.connect(self._on_signals_ended)
        self._signals.failed.connect(self._on_signals_failed)
        self._events: dict[str, threading.Event] = {}
        self._started: set[str] = set()
        self._lock = threading.Lock()
        self._user_cancelled: set[str] = set()
        self._again: set[str] = set()
        self._closing = False
        self._finished = False

    @property
    def max_threads(self) -> int:
        """How many jobs run at once."""
        return self._pool.maxThreadCount()

    @property
    def active(self) -> int:
        """How many jobs are running on the pool's threads right now."""
        return self._pool.activeThreadCount()

    def set_max_threads(self, number: int, *, remember: bool = True) -> int:
        """Run at most ``number`` jobs at once from now on (clamped to 1 … 8); return it.

        A higher limit starts queued jobs at once; a lower one lets running jobs end
        and starts no more until fewer run. ``remember`` stores it in the settings.
        """
        number = clamp_concurrency(number)
        self._pool.setMaxThreadCount(number)
        if remember:
            keys.app_settings().setValue(KEY_CONCURRENCY, number)
        return number

    @property
    def in_flight(self) -> set[str]:
        """Ids of jobs queued or running on this pool."""
        return set(self._events)

    def submit(self, job_id: str) -> bool:
        """Queue ``job_id`` to run; False once closing.

        A job still on the pool (its end not yet reported) runs again after it ends:
        ``run_job`` then either claims it (put back to pending by a Retry) or returns.
        """
        if self._closing:
            return False
        if job_id in self._events:
            self._again.add(job_id)
            return True
        cancel = threading.Event()
        self._events[job_id] = cancel
        self._user_cancelled.discard(job_id)
        self._pool.start(
            _RunJob(self._library, job_id, cancel, self._signals, self._started, self._lock)
        )
        return True

    def cancel(self, job_id: str) -> None:
        """The artist's Cancel: a pending job ends at once, a running one is signalled.

        Raises:
            NotFound: no such job.
        """
        from lora_desktop.services import deliveries

        self._user_cancelled.add(job_id)
        deliveries.cancel_job(self._library, job_id)
        event = self._events.get(job_id)
        if event is not None:
            event.set()

    def interrupt(self) -> None:
        """Start closing: start no queued run (their rows stay ``pending``) and signal the
        running ones to stop. Returns at once; ``shutdown`` waits for them."""
        if self._closing:
            return
        self._closing = True
        self._signals.blockSignals(True)  # late results must not reach a closing window
        self._pool.clear()
        for event in self._events.values():
            event.set()

    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Drop queued runs, interrupt running ones, wait; True if every run ended.

        Interrupted jobs go back to ``pending`` (they ended ``cancelled`` only because
        the app closed), so the next start resumes them. Call before the library closes.
        """
        if self._finished:
            return True
        self.interrupt()
        self._finished = True
        done = self._pool.waitForDone(max(timeout_ms, 0))
        if not done:
            log.warning("deliveries still running after %d ms; they resume next start", timeout_ms)
        with self._lock:  # every run that began has marked itself by now
            started = set(self._started) & set(self._events)
        self._requeue(started - self._user_cancelled)
        self._events.clear()
        return done

    def _requeue(self, job_ids: set[str]) -> None:
        """Put jobs interrupted by the closing back to pending."""
        if not job_ids:
            return
        from lora_desktop.services import deliveries

        for job_id in job_ids:
            try:
                if deliveries.get_job(self._library, job_id).status == "cancelled":
                    deliveries.retry_job(self._library, job_id)
            except DomainError as exc:  # finished meanwhile, or still running: leave it
                log.info("job %s not put back to pending: %s", job_id, exc.detail)
            except Exception:  # never keep the window from closing
                log.exception("could not put job %s back to pending", job_id)

    def _forget(self, job_id: str) -> None:
        self._events.pop(job_id, None)
        self._user_cancelled.discard(job_id)
        with self._lock:
            self._started.discard(job_id)
        if job_id in self._again:
            self._again.discard(job_id)
            self.submit(job_id)

    @Slot(str, str)
    def _on_signals_ended(self, job_id: str, status: str) -> None:
        self._forget(job_id)
        self.ended.emit(job_id, status)

    @Slot(str, str)
    def _on_signals_failed(self, job_id: str, message: str) -> None:
        self._forget(job_id)
        self.failed.emit(job_id, message)
