"""Reading ahead for a hash run: within a memory budget, in the order files are hashed."""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
import time
from pathlib import Path

import pytest

from lora_desktop.services.inspect.read_ahead import (
    LARGE_BUDGET_MAX,
    large_budget,
    read_ahead,
    within_budget,
)


def test_files_are_asked_for_in_order_until_the_budget_is_spent() -> None:
    files = [("a", 40), ("b", 50), ("c", 30), ("d", 1)]
    assert within_budget(files, 100) == ["a", "b"]  # c would pass the budget: it stops there
    assert within_budget(files, 0) == []
    assert within_budget(files, 10**9) == ["a", "b", "c", "d"]


def test_the_budget_is_a_fraction_of_the_memory_and_capped() -> None:
    budget = large_budget()
    assert 0 < budget <= LARGE_BUDGET_MAX


def _resident_pages(path: Path) -> list[bool]:
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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore(2) as on Linux")
def test_a_large_file_is_read_ahead_to_its_end(tmp_path: Path) -> None:
    # The kernel reads only about 8 MiB for one "will need" over a whole file; a large
    # file hashed at the end of a run must be in the cache by then, all of it.
    path = tmp_path / "big.safetensors"
    path.write_bytes(os.urandom(40 * 1024 * 1024))
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # out of the cache (clean pages)
    os.close(fd)
    if any(_resident_pages(path)):
        pytest.skip("this file system keeps the file in memory (tmpfs?)")
    read_ahead(str(path))
    deadline = time.monotonic() + 20
    while not all(_resident_pages(path)):
        assert time.monotonic() < deadline, "the whole file was never read ahead"
        time.sleep(0.01)
