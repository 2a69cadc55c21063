"""Asking the kernel to read files before registration or a hash run reaches them.

Files freshly dropped after a reboot are cold: each first read waits for the disk.
Registration reads a few KiB of each file, one file after another, so on a cold
library it mostly waits; a hash run checks small files' tables (processor-bound)
while their bytes could already be coming in. The kernel reads ahead what it is
told will be needed, so the disk works while the processors do.

Hints only: a file gone, a FIFO (opened without waiting for a writer), a folder or a
system without ``posix_fadvise`` is passed over quietly; cached pages make it a
no-op. Large files are not read ahead whole: the hash pass reads those it finds
uncached with ``O_DIRECT`` (``direct_read``), past the kernel's cache.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence

from lora_desktop.services.inspect.safetensors_header import PREFIX_READ
from lora_desktop.services.inspect.sidecars import PREVIEW_SUFFIXES, SUFFIXES

ADVICE_SPAN = 8 * 1024 * 1024
"""The kernel reads at most about this much for one ``POSIX_FADV_WILLNEED`` (measured
here: advising a whole 100 MB file cached its first 8 MiB), so a file is advised in
spans of this size."""
WHOLE_UP_TO = 4 * 1024 * 1024
"""``read_ahead_batch`` asks for whole files up to this size, and for the first
``LARGE_PREFIX`` bytes of larger ones (their header, their quick key's first MiB)."""
LARGE_PREFIX = 1024 * 1024
FIRST_READ = 8 + 4 * PREFIX_READ
"""Asked for first of each file: what bulk registration reads of most headers (the length
and the first part) and more; asking for the exact 16 KiB made the cold registration of
1,020 files 0.07 s slower (smaller requests, and the files less read when the hash pass
comes)."""
SIDECAR_ENDINGS = tuple(
    {"." + s.rsplit(".", 1)[1] for s in (*SUFFIXES.values(), *PREVIEW_SUFFIXES)}
)
"""Sidecars and previews (``sidecars``): read by registration beside each LoRA."""
_WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", 3)


def read_ahead(path: str, limit: int | None = None) -> None:
    """Ask the kernel to read ``path`` (its first ``limit`` bytes) into its cache, without
    waiting."""
    if hasattr(os, "posix_fadvise") and _regular(path):
        _advise(path, limit)


def cached(path: str) -> bool | None:
    """Whether the first page of ``path`` is in the kernel's cache (None: cannot tell).

    A read with ``RWF_NOWAIT`` returns only cached data and fails at once otherwise.
    """
    flag = getattr(os, "RWF_NOWAIT", None)
    if flag is None or not _regular(path):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        return os.preadv(fd, [bytearray(1)], 0, flag) >= 0
    except BlockingIOError:
        return False
    except OSError:
        return None
    finally:
        os.close(fd)


def read_ahead_batch(paths: Sequence[str]) -> bool:
    """If ``paths`` look cold (their first file's first page is not cached), read them
    ahead on a daemon thread. Returns whether it did (a warm batch costs one probe).

    In the order registration needs them: first what it reads of each file (the
    length and first part of the header), then the sidecars and previews of their
    folders, then the rest of the small files and the first MiB of the larger ones
    (the hash pass reads those next)."""
    if not paths or cached(paths[0]) is not False:
        return False
    thread = threading.Thread(target=_read_batch, args=(list(paths),), daemon=True)
    thread.name = "read-ahead"
    thread.start()
    return True


def _regular(path: str) -> bool:
    """Only regular files are opened (a FIFO's writer would see a reader come and go)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _read_batch(paths: list[str]) -> None:
    sizes: list[tuple[str, int]] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            sizes.append((path, st.st_size))
            _advise(path, FIRST_READ)
    for folder in dict.fromkeys(os.path.dirname(path) for path, _size in sizes):
        for entry in _sidecars_in(folder):
            _advise(entry, WHOLE_UP_TO)
    for path, size in sizes:
        if size > FIRST_READ:
            _advise(path, size if size <= WHOLE_UP_TO else LARGE_PREFIX)


def _sidecars_in(folder: str) -> list[str]:
    try:
        with os.scandir(folder or ".") as entries:
            return [
                entry.path
                for entry in entries
                if entry.name.lower().endswith(SIDECAR_ENDINGS) and entry.is_file()
            ]
    except OSError:
        return []


def _advise(path: str, limit: int | None) -> None:
    """``read_ahead`` of a path known to be a regular file, in ``ADVICE_SPAN`` spans."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return
    try:
        end = os.fstat(fd).st_size if limit is None else limit
        for offset in range(0, max(end, 1), ADVICE_SPAN):
            os.posix_fadvise(fd, offset, min(ADVICE_SPAN, max(end - offset, 1)), _WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)
