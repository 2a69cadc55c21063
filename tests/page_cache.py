"""Page-cache helpers for tests of reading ahead and direct reads (Linux)."""

from __future__ import annotations

import ctypes
import mmap
import os
from pathlib import Path

import pytest


def resident_pages(path: Path) -> list[bool]:
    """Which of the file's pages are in the kernel's cache (mincore(2), which, unlike a
    read, does not itself bring them in)."""
    libc = ctypes.CDLL(None, use_errno=True)
    page = mmap.PAGESIZE
    size = path.stat().st_size
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY) as m:
        vector = (ctypes.c_ubyte * ((size + page - 1) // page))()
        address = ctypes.addressof(ctypes.c_char.from_buffer(m))
        if libc.mincore(ctypes.c_void_p(address), ctypes.c_size_t(size), vector) != 0:
            pytest.skip(f"mincore failed: {os.strerror(ctypes.get_errno())}")
        return [bool(v & 1) for v in vector]


def uncached(path: Path, size: int) -> Path:
    """``path`` written with ``size`` random bytes and put out of the kernel's cache."""
    path.write_bytes(os.urandom(size))
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # clean pages leave the cache
    os.close(fd)
    if any(resident_pages(path)):
        pytest.skip("this file system keeps files in memory (tmpfs?)")
    return path
