"""Reading a big result in slices, so that other threads keep running.

``Result.all()`` builds every row in one call of SQLAlchemy's compiled
extension, which never returns to the interpreter meanwhile and so never lets
go of the GIL: 50,000 rows held it for 100 to 150 ms, and a window's GUI thread
froze that long whenever a pool thread reloaded or reconciled the library.
``fetchmany`` in slices gives the interpreter a switch point every slice.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

_Row = TypeVar("_Row", covariant=True)

SLICE = 500
"""Rows built per call: about half a millisecond of GIL at a time."""


class _Fetching(Protocol[_Row]):
    def fetchmany(self, size: int | None = None, /) -> Any: ...


def fetch_all(result: _Fetching[_Row]) -> list[Any]:
    """Every row of ``result``, built ``SLICE`` rows at a time."""
    rows: list[Any] = []
    while chunk := result.fetchmany(SLICE):
        rows.extend(chunk)
    return rows
