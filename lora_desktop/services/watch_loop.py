"""Running a ``LibraryWatcher`` without Qt: a processing thread and an idle reconcile.

The GUI drives the watcher with its own timer and thread pool
(``ui.watch_bridge``); this runner serves the tests, the benchmark and any
headless use. Follow-up work (hashing changed files again, confirming relinks by
their full hash) runs on the same thread after each batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Sequence

from lora_desktop.services.errors import DomainError
from lora_desktop.services.inspect.hash_service import hash_adapter
from lora_desktop.services.library import Library
from lora_desktop.services.reconcile import mark_rehashed
from lora_desktop.services.relink import confirm_relinked
from lora_desktop.services.watcher import LibraryWatcher

log = logging.getLogger(__name__)


def rehash(lib: Library, ids: Sequence[str]) -> None:
    """Hash changed files again; a row whose hash is current becomes ``ok``.

    A file that is another adapter's, moved over this one's path, is not hashed for
    this one (the move's own processing relinks it)."""
    done: list[str] = []
    for adapter_id in ids:
        try:
            hash_adapter(lib, adapter_id, unless_moved_here=True)
        except DomainError as exc:
            log.info("cannot hash %s again yet: %s", adapter_id, exc.detail)
            continue
        done.append(adapter_id)
    if done:
        mark_rehashed(lib, done)


def lower_thread_priority() -> None:
    """Make the calling thread idle-priority (Linux: per-thread nice and SCHED_IDLE)."""
    tid = threading.get_native_id()
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, tid, 19)
    sched_idle = getattr(os, "SCHED_IDLE", None)
    if sched_idle is not None:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, sched_idle, os.sched_param(0))


class WatchLoop:
    """A thread that processes the watcher's events when due, and a periodic idle reconcile.

    Args:
        watcher: a started or not yet started watcher (``start()`` starts it).
        idle_interval: seconds between full reconciles at idle priority (0: never).
        root_check: seconds between checks that the library folders are still there.
    """

    def __init__(
        self, watcher: LibraryWatcher, *, idle_interval: float = 600.0, root_check: float = 2.0
    ) -> None:
        self.watcher = watcher
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle_interval = idle_interval
        self._root_check = root_check
        self._thread = threading.Thread(target=self._run, name="watch-loop", daemon=True)
        self._idle = threading.Thread(target=self._run_idle, name="watch-idle", daemon=True)
        self.errors: list[str] = []
        self.passes = 0
        self.checked: set[str] = set()
        """Paths looked at and settled (not waiting), for callers that await an outcome."""
        self._cond = threading.Condition()

    def start(self) -> None:
        """Start watching and processing."""
        previous = self.watcher._on_event

        def wake() -> None:
            previous()
            self._wake.set()

        self.watcher._on_event = wake
        self.watcher.start()
        self._thread.start()
        if self._idle_interval > 0:
            self._idle.start()

    def stop(self) -> None:
        """Stop the threads and the observers (waits at most a few seconds)."""
        self._stop.set()
        self._wake.set()
        try:
            self.watcher.stop()
        finally:
            self._thread.join(5)
            if self._idle.is_alive():
                self._idle.join(5)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until ``predicate()`` holds, checked after each pass."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def _run(self) -> None:
        """The processing thread's body."""
        while not self._stop.is_set():
            due = self.watcher.next_due()
            timeout = self._root_check if due is None else min(due, self._root_check)
            if timeout > 0:
                self._wake.wait(timeout)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.watcher.check_roots()
                result = self.watcher.process()
                if result.changed:
                    rehash(self.watcher.lib, result.changed)
                if result.relinked:
                    confirm_relinked(self.watcher.lib, result.relinked)
            except Exception as exc:  # keep watching; the next pass tries again
                log.exception("processing watched events failed")
                self.errors.append(str(exc))
                continue
            waiting = {p for r in result.reports for p in r.waiting}
            with self._cond:
                self.passes += 1
                self.checked.update(p for p in result.checked if p not in waiting)
                self._cond.notify_all()

    def _run_idle(self) -> None:
        """The idle reconcile thread's body (lowest priority)."""
        lower_thread_priority()
        while not self._stop.wait(self._idle_interval):
            try:
                self.watcher.reconcile_all()
                self.watcher.fill_missing_keys(should_stop=self._stop.is_set)
            except Exception as exc:
                log.exception("idle reconcile failed")
                self.errors.append(str(exc))
