"""What the watcher saw, coalesced: a thread-safe queue of paths, moves and folders.

The event handler (on watchdog's observer thread) only records here; the
processing side takes what is due. A burst of events for one path is one
entry whose time is that of the last event: it is due once nothing happened to
it for the settle delay. Moves are due at once (a rename must show quickly).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from lora_desktop.services.moves import Move
from lora_desktop.services.reconcile import ignored_name, is_lora_name

EVENTS_WATCHED: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
    FileMovedEvent,
    DirMovedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
]
"""What ``RecordingHandler`` uses, the ``event_filter`` of every watch (an attribute change
is a ``touch`` or ``rsync -t`` of the modification time: reconciled). Without it, inotify
also reports every open and every close of a file only read, the app's own reads
included: a hash run of 1,000 files made thousands of events for watchdog's thread to
decode in Python and drop, taking processor time and the GIL from the run."""


@dataclass
class Batch:
    """Work due now: moves in order, paths to check, folders to reconcile whole."""

    moves: list[Move] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.moves or self.paths or self.folders)


class EventQueue:
    """Paths touched (with the time of their last event), moves, folders to reconcile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._touched: dict[str, float] = {}
        self._moves: list[Move] = []
        self._folders: set[str] = set()

    def touch(self, path: str, *, when: float | None = None) -> None:
        """Something happened at ``path``: check it once it has been quiet for a while."""
        with self._lock:
            self._touched[path] = time.monotonic() if when is None else when

    def move(self, move: Move) -> None:
        """A rename or move: applied at the next processing."""
        with self._lock:
            self._moves.append(move)

    def folder(self, folder: str) -> None:
        """Reconcile this whole folder at the next processing (events were lost)."""
        with self._lock:
            self._folders.add(folder)

    def take(self, settle: float, *, now: float | None = None) -> Batch:
        """Remove and return what is due: all moves and folders, paths quiet for ``settle``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            due = [p for p, t in self._touched.items() if now - t >= settle]
            for path in due:
                del self._touched[path]
            batch = Batch(self._moves, sorted(due), sorted(self._folders))
            self._moves, self._folders = [], set()
        return batch

    def next_due(self, settle: float, *, now: float | None = None) -> float | None:
        """Seconds until something is due (0: now), or None when the queue is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._moves or self._folders:
                return 0.0
            if not self._touched:
                return None
            return max(0.0, min(self._touched.values()) + settle - now)

    def __len__(self) -> int:
        with self._lock:
            return len(self._touched) + len(self._moves) + len(self._folders)


def _text(path: bytes | str) -> str:
    return os.fsdecode(path)


class RecordingHandler(FileSystemEventHandler):
    """Turns watchdog events into queue entries; nothing else (no database, no disk).

    ``on_any_event`` is called on watchdog's observer thread; ``notify`` too, after
    each recorded event, and ``root_lost(folder)`` when a watched folder itself is
    deleted (its watch stops).
    """

    def __init__(
        self, queue: EventQueue, roots: set[str], notify: object, root_lost: object
    ) -> None:
        super().__init__()
        self._queue = queue
        self._roots = roots
        self._notify = notify
        self._root_lost = root_lost

    def on_any_event(self, event: FileSystemEvent) -> None:
        """FileSystemEventHandler.on_any_event: record the event (observer thread)."""
        if (event.is_synthetic and event.event_type == "moved") or event.event_type in (
            "opened",
            "closed_no_write",
        ):
            return  # a folder move already covers its contents; opens change nothing
        src = _text(event.src_path)
        kind = event.event_type
        if kind == "moved":
            self._moved(src, _text(event.dest_path), event.is_directory)
        elif kind == "deleted" and event.is_directory and src in self._roots:
            self._root_lost(src)  # type: ignore[operator]
            return
        elif event.is_directory:
            if kind not in ("created", "deleted"):
                return  # a folder's own modified/attrib events say nothing new
            self._queue.touch(src)
        elif ignored_name(src):
            return
        else:
            self._queue.touch(src)
        self._notify()  # type: ignore[operator]

    def _moved(self, src: str, dest: str, is_directory: bool) -> None:
        if is_directory:
            self._queue.move(Move(src, dest, True))
            self._queue.touch(dest, when=0.0)
            return
        if not is_lora_name(src):
            # A temp file renamed over a LoRA (an editor's save) is a modification;
            # a sidecar renamed is a sidecar created.
            self._queue.touch(dest)
            return
        if not is_lora_name(dest):
            # Renamed away to a backup or temp name: the LoRA path is what changed.
            self._queue.touch(src)
            return
        self._queue.move(Move(src, dest, False))
        self._queue.touch(dest, when=0.0)
        self._queue.touch(src, when=0.0)
