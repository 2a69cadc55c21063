"""Start background work at the artist's first pause, not in the middle of typing.

The start-up reconcile and the start-up hash run take the GIL and the database
for a while; begun while the artist types or drags in the first seconds, they
made keystrokes and drag saves wait. ``WhenIdle`` calls back once no key, mouse
or wheel event has reached the application for ``idle_ms``, and in any case
``at_most_ms`` after it was started.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

_INPUT = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.DragMove,
        QEvent.Type.Drop,
    }
)


class WhenIdle(QObject):
    """Calls ``callback`` once, at the first pause of ``idle_ms`` after ``start()``."""

    def __init__(
        self,
        callback: Callable[[], None],
        parent: QObject,
        *,
        idle_ms: int = 1000,
        at_most_ms: int = 10_000,
    ) -> None:
        super().__init__(parent)
        self._callback = callback
        self._idle = QTimer(self, singleShot=True, interval=idle_ms)
        self._idle.timeout.connect(self._fire)
        self._deadline = QTimer(self, singleShot=True, interval=at_most_ms)
        self._deadline.timeout.connect(self._fire)
        self._watching = False

    @property
    def pending(self) -> bool:
        """Whether the callback is still to come."""
        return self._watching

    def start(self) -> None:
        """Begin waiting for a pause (again, if already waiting)."""
        app = QCoreApplication.instance()
        if app is not None and not self._watching:
            app.installEventFilter(self)
        self._watching = True
        self._idle.start()
        if not self._deadline.isActive():
            self._deadline.start()

    def cancel(self) -> None:
        """Never call back."""
        self._idle.stop()
        self._deadline.stop()
        if self._watching:
            app = QCoreApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
        self._watching = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """QObject.eventFilter: an input event starts the pause over; never consumed."""
        if event.type() in _INPUT:
            self._idle.start()
        return False

    def _fire(self) -> None:
        if self._watching:
            self.cancel()
            self._callback()
