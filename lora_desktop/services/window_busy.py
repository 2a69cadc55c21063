"""Background loops step aside while the window paints its list.

Python runs one thread at a time (the GIL). Painting the adapter list calls into
Python a few hundred times (the model's ``data()``), and each call must take the
GIL back from a background thread running Python: registration, or a hash run's
writes, kept it up to the switch interval each time, so a 4 ms paint took 30-40
ms. The list view marks its paints (``painting``); those loops call
``wait_turn`` between files and so leave the GIL alone while a paint goes on,
never waiting longer than ``MAX_WAIT_S``. With no window, nothing ever waits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT_S = 0.05


class WindowBusy:
    """Set while the window paints; background loops wait for it to clear."""

    def __init__(self) -> None:
        self._idle = threading.Event()
        self._idle.set()

    @contextmanager
    def painting(self) -> Iterator[None]:
        """Mark a paint (on the window's thread) for as long as the block runs."""
        self._idle.clear()
        try:
            yield
        finally:
            self._idle.set()

    @property
    def is_painting(self) -> bool:
        """Whether a paint is going on."""
        return not self._idle.is_set()

    def wait_turn(self) -> None:
        """Wait for the paint going on to end (at most ``MAX_WAIT_S``)."""
        self._idle.wait(MAX_WAIT_S)
