"""Asking the kernel to read files before a hash run reaches them.

Files freshly registered after a reboot are cold: only their header's first
64 KiB was read. A hash run is CPU-bound on small files (their tensor tables are
checked) and bound by the disk on large ones; the kernel reads ahead what it is
told will be needed, so the disk works while the processors do.

Hints only: a file gone, a FIFO (opened without waiting for a writer), a folder
or a system without ``posix_fadvise`` is passed over quietly; cached pages make
it a no-op.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

ADVICE_SPAN = 8 * 1024 * 1024
"""The kernel reads at most about this much for one ``POSIX_FADV_WILLNEED`` (measured
here: advising a whole 100 MB file cached its first 8 MiB), so a file is advised in
spans of this size."""
LARGE_BUDGET_MAX = 2 * 1024**3
"""At most this many bytes of large files are asked for at the start of a run (and
no more than an eighth of the machine's memory)."""


def read_ahead(path: str) -> None:
    """Ask the kernel to read all of ``path`` into its cache, without waiting."""
    if not hasattr(os, "posix_fadvise"):
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return
    try:
        size = os.fstat(fd).st_size
        for offset in range(0, max(size, 1), ADVICE_SPAN):
            os.posix_fadvise(fd, offset, ADVICE_SPAN, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def large_budget() -> int:
    """How many bytes of large files a run asks for ahead: an eighth of the memory, capped."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0
    return min(LARGE_BUDGET_MAX, max(memory, 0) // 8)


def within_budget(files: Sequence[tuple[str, int]], budget: int) -> list[str]:
    """The paths of ``files`` (path, size), in order, while their sizes fit in ``budget``."""
    chosen: list[str] = []
    total = 0
    for path, size in files:
        if total + size > budget:
            break
        chosen.append(path)
        total += size
    return chosen


def read_ahead_in_background(files: Sequence[tuple[str, int]], budget: int) -> None:
    """Ask for ``files`` (path, size), in order, up to ``budget`` bytes, on a daemon thread
    (submitting the reads of a large file can take a moment)."""
    chosen = within_budget(files, budget)
    if chosen:
        threading.Thread(target=_read_all, args=(chosen,), name="read-ahead", daemon=True).start()


def _read_all(paths: list[str]) -> None:
    for path in paths:
        read_ahead(path)
