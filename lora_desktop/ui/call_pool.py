"""Short service calls off the GUI thread: the call runs on a pool, its callbacks on the GUI thread.

Used for the delivery writes and reads that would otherwise make the window
late while deliveries run (a job row written while two workers write theirs,
the job list reloaded while results pour in). The callable gets plain inputs
and touches no widget; its result or its exception comes back through a queued
signal to ``on_result`` / ``on_error``. After ``shutdown`` late results are dropped.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

OnResult = Callable[[Any], None]
OnError = Callable[[Exception], None]


class _CallSignals(QObject):
    finished = Signal(int, object)
    failed = Signal(int, object)


class _Call(QRunnable):
    def __init__(
        self,
        token: int,
        function: Callable[[], Any],
        signals: _CallSignals,
        ended: Callable[[int], None],
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._token = token
        self._function = function
        self._signals = signals
        self._ended = ended

    def run(self) -> None:
        """QRunnable.run: call on a pool thread; report the result or the exception."""
        try:
            result = self._function()
        except Exception as exc:  # handed to on_error on the GUI thread
            self._ended(self._token)
            self._signals.failed.emit(self._token, exc)
        else:
            self._ended(self._token)
            self._signals.finished.emit(self._token, result)


class CallPool(QObject):
    """A pool (one thread by default: calls run in the order given) for short calls."""

    def __init__(self, parent: QObject | None = None, *, threads: int = 1) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._signals = _CallSignals(self)
        self._signals.finished.connect(self._on_signals_finished)
        self._signals.failed.connect(self._on_signals_failed)
        self._callbacks: dict[int, tuple[OnResult, OnError]] = {}
        self._tokens = itertools.count()
        self._closed = False
        self._unfinished: set[int] = set()  # tokens not yet run to their end (any thread)
        self._unfinished_lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """Whether calls are queued or running."""
        return bool(self._callbacks)

    def call(self, function: Callable[[], Any], on_result: OnResult, on_error: OnError) -> bool:
        """Run ``function()`` on the pool; False (nothing runs) once shut down."""
        if self._closed:
            return False
        token = next(self._tokens)
        self._callbacks[token] = (on_result, on_error)
        with self._unfinished_lock:
            self._unfinished.add(token)
        self._pool.start(_Call(token, function, self._signals, self._ended))
        return True

    @property
    def unfinished(self) -> int:
        """How many calls have not run to their end (queued or running)."""
        with self._unfinished_lock:
            return len(self._unfinished)

    def _ended(self, token: int) -> None:
        """A call ran to its end (on its pool thread)."""
        with self._unfinished_lock:
            self._unfinished.discard(token)

    def shutdown(self, timeout_ms: int = 3000, *, drop_queued: bool = False) -> bool:
        """Wait for the calls (queued ones too, unless ``drop_queued``: writes must not be
        lost, reads may), drop their results; True if all ended in time."""
        self._closed = True
        self._signals.blockSignals(True)
        if drop_queued:
            self._pool.clear()
        done = self._pool.waitForDone(max(timeout_ms, 0))
        if not done:
            # Whatever has not started by now never will: nothing may run after the
            # caller goes on (to close the library).
            self._pool.clear()
            log.warning("%d background calls not finished after %d ms", self.unfinished, timeout_ms)
        self._callbacks.clear()
        return done

    @Slot(int, object)
    def _on_signals_finished(self, token: int, result: object) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is not None and not self._closed:
            callbacks[0](result)

    @Slot(int, object)
    def _on_signals_failed(self, token: int, error: object) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is None or self._closed:
            return
        if isinstance(error, Exception):
            callbacks[1](error)
