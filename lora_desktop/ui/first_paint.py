"""Run a piece of start-up work once a widget has painted for the first time.

Background features (thumbnails, hashing, watching, deliveries) start after the
window shows its list: the artist sees the library first, the rest follows.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class FirstPaint(QObject):
    """Calls ``callback`` from the event loop right after ``widget``'s first paint."""

    def __init__(self, widget: QWidget, callback: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._widget: QWidget | None = widget
        self._callback = callback
        widget.installEventFilter(self)

    def cancel(self) -> None:
        """Never call back (the window is closing)."""
        if self._widget is not None:
            self._widget.removeEventFilter(self)
            self._widget = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """QObject.eventFilter: on the first paint, schedule the callback once."""
        if event.type() == QEvent.Type.Paint and self._widget is not None:
            self.cancel()
            QTimer.singleShot(0, self, self._callback)
        return False
