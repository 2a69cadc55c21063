"""Reading a large file that is not in the kernel's cache straight from the disk.

A buffered read of a file the kernel has not cached costs processor time twice: the
kernel fills its page cache, then copies each page into our buffer. For the large
files of a hash run that copy is most of the run's system time (measured here, in
the app, during the hashing of twenty 100 MB files: 30% of both cores in
``_copy_to_iter``); with ``O_DIRECT`` the disk writes into our buffer and the
kernel does next to nothing. A direct read has no kernel read-ahead, so a reader
thread reads the next chunks while the hashing thread hashes the one it has.

Only for files the kernel does not hold already (``cached_in_middle``): a warm file
is copied from memory faster than any disk reads it. Wherever ``O_DIRECT`` is refused
(tmpfs, some network or FUSE file systems) or a direct read fails, ``DirectChunks``
says so and the caller reads on with ordinary reads from where it stopped.
"""

from __future__ import annotations

import mmap
import os
import queue
import stat
import threading
from collections.abc import Iterator
from types import TracebackType

ALIGN = 4096
"""Offsets, lengths and buffer addresses of direct reads are multiples of this (the
logical block size is 512 or 4096 bytes; anonymous memory maps are page-aligned)."""
RING = 3
"""Buffers per reading thread: one hashed, two being read or ready."""

_local = threading.local()


def cached_in_middle(fd: int, size: int) -> bool | None:
    """Whether the page in the middle of the open file is in the kernel's cache.

    The middle: the first and last MiB are read by other passes (the header, the
    quick key), so their pages say nothing of the rest; a file read whole has its
    middle cached. A read with ``RWF_NOWAIT`` returns only cached data and fails at
    once otherwise. None: the system cannot tell (no ``preadv2`` flags, or refused by
    the file system).
    """
    flag = getattr(os, "RWF_NOWAIT", None)
    if flag is None or size <= 0:
        return None
    try:
        return os.preadv(fd, [bytearray(1)], size // 2, flag) > 0
    except BlockingIOError:
        return False
    except OSError:
        return None


def _buffers(chunk: int) -> list[mmap.mmap]:
    """This thread's ring of page-aligned buffers, made once per thread."""
    ring: list[mmap.mmap] | None = getattr(_local, "ring", None)
    if ring is None or len(ring[0]) != chunk:
        ring = _local.ring = [mmap.mmap(-1, chunk) for _ in range(RING)]
    return ring


class DirectChunks:
    """The bytes of ``path`` from ``start`` to its end, read with ``O_DIRECT`` ahead of use.

    Use as a context manager; iterate for memoryviews of consecutive chunks (each
    valid until the next is asked for). ``failed`` is set when direct reading stopped
    early (refused, or an error): ``position`` is then where ordinary reads go on.
    The file opened is checked to be the one already open as ``fd`` (same device and
    inode), so a file renamed over the path in between is never read.
    """

    def __init__(self, path: str, fd: int, start: int, chunk: int) -> None:
        self.position = start
        self.failed = False
        self._chunk = chunk
        self._free: queue.SimpleQueue[mmap.mmap | None] = queue.SimpleQueue()
        self._ready: queue.SimpleQueue[tuple[mmap.mmap, int | OSError]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fd = self._open(path, fd)

    @staticmethod
    def _open(path: str, fd: int) -> int | None:
        """A second descriptor on the file open as ``fd``, with ``O_DIRECT``; None if refused.

        Through ``/proc/self/fd`` it is that very file whatever happened to the path
        since; else by the path, never waiting (``O_NONBLOCK``: a FIFO swapped in must not
        block) and kept only if it is the same file (device and inode).
        """
        flag = getattr(os, "O_DIRECT", None)
        if flag is None:
            return None
        flags = os.O_RDONLY | flag | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        for source in (f"/proc/self/fd/{fd}", path):
            try:
                direct = os.open(source, flags)
            except OSError:
                continue
            try:
                mine, theirs = os.fstat(fd), os.fstat(direct)
            except OSError:
                os.close(direct)
                return None
            if (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino) and stat.S_ISREG(
                theirs.st_mode
            ):
                return direct
            os.close(direct)
        return None

    def __enter__(self) -> DirectChunks:
        if self._fd is None:
            self.failed = True
            return self
        for buffer in _buffers(self._chunk):
            self._free.put(buffer)
        self._thread = threading.Thread(target=self._read_ahead, name="direct-read", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._free.put(None)  # wakes the reader if it waits for a buffer
            self._thread.join()
        if self._fd is not None:
            os.close(self._fd)

    def _read_ahead(self) -> None:
        """The reader thread: fill free buffers in file order until the end, an error or stop."""
        assert self._fd is not None
        offset = self.position - self.position % ALIGN
        buffer: mmap.mmap | None = None
        try:
            while not self._stop.is_set():
                buffer = self._free.get()
                if buffer is None or self._stop.is_set():
                    return
                full = len(buffer)
                try:
                    count: int | OSError = os.preadv(self._fd, [buffer], offset)
                except OSError as exc:
                    count = exc
                self._ready.put((buffer, count))
                buffer = None
                if isinstance(count, OSError) or count < full:
                    return  # the end of the file (a direct read past it is short), or an error
                offset += count
        except BaseException as exc:  # never leave the consumer waiting for a chunk
            self._ready.put((buffer or mmap.mmap(-1, ALIGN), OSError(f"reader failed: {exc!r}")))

    def __iter__(self) -> Iterator[memoryview]:
        if self.failed:
            return
        skip = self.position % ALIGN  # the first read starts on the boundary before
        while True:
            buffer, count = self._ready.get()
            if isinstance(count, OSError):
                self.failed = True
                return
            if count > skip:
                yield memoryview(buffer)[skip:count]  # hashed before the next is asked for
                self.position += count - skip
            self._free.put(buffer)
            if count < len(buffer):
                return
            skip = 0
