"""The library's change broadcast as a Qt signal, delivered on the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from lora_desktop.services.library import ChangeSet, Library

log = logging.getLogger(__name__)


class LibraryBridge(QObject):
    """Forwards each ``ChangeSet`` the library publishes as ``changed``.

    The library calls listeners on the thread that made the change (a pool
    thread for imports); this object lives on the GUI thread, so the signal
    reaches GUI slots through Qt's queued connections.
    """

    changed = Signal(object)

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._attached = False

    def attach(self) -> None:
        """Start listening to the library."""
        if not self._attached:
            self._library.subscribe(self._on_library_changed)
            self._attached = True

    def detach(self) -> None:
        """Stop listening (before the window goes away)."""
        if self._attached:
            self._library.unsubscribe(self._on_library_changed)
            self._attached = False

    def _on_library_changed(self, changes: ChangeSet) -> None:
        """Called by the library, on any thread."""
        self.changed.emit(changes)
