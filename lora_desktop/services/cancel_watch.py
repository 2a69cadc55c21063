"""Cancels asked by another process reach the jobs running in this one.

``cancel_job`` in this process signals a running job directly. A cancel made by
another process (``lora-desktop jobs cancel ID`` while the window delivers) only
sets the row's ``cancel_requested``. One watcher thread per open library looks
for those every ``poll`` seconds while jobs of that library run here, with one
query for all of them, and sets the running job's stop signal. It ends at the
first poll that finds no job running; the next job to run starts another.

One shared thread rather than one per job: a thread per job cost a thread start
and a wake-up on every delivery, and one query per running job every poll.
"""

from __future__ import annotations

import logging
import threading
import weakref

from sqlalchemy import select

from lora_desktop.models.database import Database
from lora_desktop.models.tables import DeliveryJob

log = logging.getLogger(__name__)


class CancelWatch:
    """Watches the jobs of one library that run in this process (any thread may call it)."""

    def __init__(self, db: Database, poll: float) -> None:
        # Weak: the registry below must not keep a closed library's engine alive.
        self._db = weakref.ref(db)
        self.poll = poll
        self._jobs: dict[str, threading.Event] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, job_id: str, stop: threading.Event) -> None:
        """Watch ``job_id`` until ``remove``; a cancel asked elsewhere sets ``stop``."""
        with self._wake:
            self._jobs[job_id] = stop
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="cancel-watch")
                self._thread.start()

    def remove(self, job_id: str) -> None:
        """Stop watching ``job_id`` (its run ended)."""
        with self._wake:
            self._jobs.pop(job_id, None)

    @property
    def watching(self) -> bool:
        """Whether a watcher thread runs (jobs of this library run here)."""
        with self._wake:
            return self._thread is not None

    def _loop(self) -> None:
        while True:
            with self._wake:
                self._wake.wait(self.poll)
                # Not ended as soon as the last job ends: jobs that follow each other
                # (a queue being worked through) keep the same thread.
                if not self._jobs:
                    self._thread = None
                    return
                watched = dict(self._jobs)
            try:
                asked = self._asked(list(watched))
            except Exception:  # a library closed under us: look again at the next poll
                log.debug("cancel watch could not read the jobs", exc_info=True)
                continue
            for job_id in asked:
                watched[job_id].set()

    def _asked(self, job_ids: list[str]) -> list[str]:
        db = self._db()
        if db is None:
            return []
        with db.read() as session:
            return list(
                session.scalars(
                    select(DeliveryJob.id).where(
                        DeliveryJob.id.in_(job_ids), DeliveryJob.cancel_requested.is_(True)
                    )
                )
            )


_watches: weakref.WeakKeyDictionary[Database, CancelWatch] = weakref.WeakKeyDictionary()
_watches_lock = threading.Lock()


def watch_for(db: Database, poll: float) -> CancelWatch:
    """The watcher of the library whose database is ``db`` (one per library in this
    process), polling every ``poll`` seconds."""
    with _watches_lock:
        found = _watches.get(db)
        if found is None:
            found = _watches[db] = CancelWatch(db, poll)
        found.poll = poll
        return found
