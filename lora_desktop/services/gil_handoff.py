"""A short GIL switch interval while long background work runs beside the window.

CPython lets a thread keep the GIL for the switch interval (5 ms by default)
before one that waits for it gets its turn. The window's thread takes the GIL
back for every call Qt makes into Python (a list paint makes hundreds), and a
hashing thread for a moment between reads: beside a thread running Python
(registration, a batch of results), each of those moments could wait 5 ms.
Measured, 300 MB hashed beside a thread checking tables took 1.8 s instead of
0.4 s (0.8 s at 0.5 ms); during a hash run of 1,008 files the window's worst
timer lateness went from 33-44 ms at 0.5 ms to 24-38 ms at 0.1 ms
(``benchmarks/gui_latency_bench.py``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

GIL_SWITCH_S = 0.0001
"""How long a thread may keep the GIL while another waits for it, during such work."""

_lock = threading.Lock()
_users = 0
_saved = 0.0


@contextmanager
def quick_gil_handoff() -> Iterator[None]:
    """Hand the GIL over within ``GIL_SWITCH_S`` while the block runs.

    Nested and concurrent uses (an import and a hash run at once) share it; the
    interval found before the first is restored when the last ends.
    """
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved, GIL_SWITCH_S))
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                sys.setswitchinterval(_saved)
