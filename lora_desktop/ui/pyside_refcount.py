"""Work around a reference-count bug of PySide6 6.12.0's ``SignalInstance``.

In PySide6 6.12.0, ``SignalInstance.emit()`` and a successful
``SignalInstance.disconnect()`` return ``True`` without taking a reference to it.
Every call from Python therefore drops one reference to ``True`` that was never
taken. On Python 3.11 ``True`` is an ordinary object (immortal only from 3.12),
so after a few thousand signals (thumbnails, hash progress, deliveries...) its
count reaches zero and the process aborts, usually at exit while collecting:
``Fatal Python error: bool_dealloc: deallocating True or False``.

``install()`` probes each method once at start-up (a private signal, emitted and
disconnected a few times, with ``sys.getrefcount(True)`` before and after) and,
only where a reference is lost on every call, wraps the method so that the result
gets the reference it is owed. A PySide6 without the bug is left untouched, and so
is a Python where ``True`` is immortal (the count does not move).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

PROBE_CALLS = 8

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None

_patched: set[str] = set()


class _Probe(QObject):
    ping = Signal()


def _lost_references(call: Callable[[], object], times: int = PROBE_CALLS) -> int:
    """How many references to ``True`` ``times`` calls of ``call`` lost (0 when sound)."""
    before = sys.getrefcount(True)
    for _ in range(times):
        call()  # the result is dropped at once, as in `signal.emit(...)`
    lost = before - sys.getrefcount(True)
    for _ in range(max(0, lost)):
        _incref(True)  # give back what the probe itself took
    return lost


def _owning(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: SignalInstance, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        _incref(result)  # PySide returned it without a reference of ours
        return result

    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    call.__wrapped__ = method  # type: ignore[attr-defined]
    return call


def install() -> frozenset[str]:
    """Patch what leaks on this PySide6 (idempotent); the names of the patched methods."""
    probe = _Probe()
    probe.ping.connect(_ignore)
    if "emit" not in _patched and _lost_references(probe.ping.emit) == PROBE_CALLS:
        SignalInstance.emit = _owning(SignalInstance.emit)  # type: ignore[method-assign]
        _patched.add("emit")

    def connect_disconnect() -> object:
        connection = probe.ping.connect(_ignore)
        return probe.ping.disconnect(connection)

    if "disconnect" not in _patched and _lost_references(connect_disconnect) == PROBE_CALLS:
        SignalInstance.disconnect = _owning(  # type: ignore[method-assign]
            SignalInstance.disconnect
        )
        _patched.add("disconnect")
    return frozenset(_patched)


def patched() -> frozenset[str]:
    """The methods ``install`` wrapped so far."""
    return frozenset(_patched)


def _ignore() -> None:
    pass
