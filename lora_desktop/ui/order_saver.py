"""Saving a dragged compose order off the GUI thread, one save at a time.

The list shows a drag at once; the whole new order is then written by
``services.ordering.save_order`` on a one-thread pool, so the window never
waits for SQLite (over a second per drag at 50,000 rows, and any size waits
while the background hashing holds the write lock). Each save writes the whole
order, so while one runs only the newest order waits for its turn.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library
from lora_desktop.services.ordering import save_order, warm_up
from lora_desktop.ui.call_pool import CallPool

log = logging.getLogger(__name__)


def _ignore(_value: object) -> None:
    """A callback with nothing to do (the window is closing)."""


class OrderSaver(QObject):
    """Writes compose orders in the background; says when each is saved or refused."""

    saved = Signal(list, list)
    """(order, ids whose ordinal changed): that order is in the database. The change
    set is not published yet: the receiver publishes it (from the GUI thread)."""
    failed = Signal(str)
    """The library refused the order (the message to show); later orders were dropped."""

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._pool = CallPool(self)
        self._saving = False
        self._next: list[str] | None = None

    @property
    def saving(self) -> bool:
        """Whether an order is being written (or waits for its turn)."""
        return self._saving

    def save(self, order: list[str]) -> None:
        """Write ``order`` (adapter ids, compose order) after the save running now, if any."""
        if self._saving:
            self._next = order
            return
        self._saving = True
        library = self._library
        self._pool.call(
            lambda: save_order(library, order, publish=False),
            lambda changed: self._on_pool_saved(order, changed),
            self._on_pool_failed,
        )

    def warm_up(self) -> None:
        """Prepare the first save on the save thread (statements, cache), changing nothing."""
        library = self._library
        self._pool.call(lambda: warm_up(library), _ignore, _ignore)

    def _on_pool_saved(self, order: list[str], changed: list[str]) -> None:
        self._saving = False
        waiting, self._next = self._next, None
        if waiting is not None:
            self.save(waiting)
        self.saved.emit(order, changed)

    def _on_pool_failed(self, error: Exception) -> None:
        self._saving = False
        self._next = None
        detail = error.detail if isinstance(error, DomainError) else str(error)
        log.warning("reorder refused: %s", detail)
        self.failed.emit(f"The new order was not saved: {detail}")

    def shutdown(self, timeout_ms: int = 2000) -> None:
        """Write the waiting order too, then wait (at most ``timeout_ms``); before the
        library closes. Results are no longer reported."""
        waiting, self._next = self._next, None
        if waiting is not None:  # its turn would have come in a callback: queue it now
            library = self._library
            self._pool.call(lambda: save_order(library, waiting), _ignore, _ignore)
        self._pool.shutdown(timeout_ms)
