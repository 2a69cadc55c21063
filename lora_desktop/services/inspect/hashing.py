"""Every hash of a file in one read pass, and the tensor table checked on the way.

The SHA-256 of the whole file (AutoV2 is its first 10 hex digits) and, for
safetensors, the SHA-256 of the bytes after the header (AutoV3 is its first 12;
kohya's ``sshs_model_hash`` and A1111's Lora short hash are the same value, and
it does not change when only metadata is edited). Reads are large (4 MiB into
one reused buffer per thread), so hashlib releases the GIL and two threads use
both cores; the kernel is asked for the next chunk while one is hashed, so a file
that is not cached is read while it is hashed. A large file that is not cached can
be read with ``O_DIRECT`` instead (``direct_read``), which spares the kernel's copy.

If the file's size, modification time or inode differ before and after the pass,
the result is thrown away (``FileChanged``): the caller queues it again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from lora_desktop.services.inspect.direct_read import DirectChunks, cached_in_middle
from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.safetensors_header import (
    INDEX_CAP,
    check_length,
    open_regular,
    read_exact,
)
from lora_desktop.services.inspect.tensor_table import TableCheck, check_table

CHUNK = 4 * 1024 * 1024
DIRECT_MIN = 32 * 1024 * 1024
"""Files from this size are read with ``O_DIRECT`` when not cached (``hash_file``)."""
BytesDone = Callable[[int], None]
"""``bytes_done(n)``: n more bytes hashed; called on the hashing thread."""
StopCheck = Callable[[], bool]
TableChecker = Callable[[bytes, int], TableCheck]
"""``check(header, data_size)``: ``tensor_table.check_table`` or a stand-in for it."""


class FileChanged(Exception):
    """The file changed while it was hashed; the result was discarded."""


class HashStopped(Exception):
    """The caller asked to stop; nothing was computed."""


@dataclass(frozen=True)
class HashResult:
    """The hashes of one file and the facts they were computed for.

    Attributes:
        sha256: of the whole file (None when the file is incomplete).
        sha256_weights: of the bytes after a safetensors header (None otherwise, and
            when the header is refused or no bytes follow it).
        incomplete: why the tensor data does not match the header (None when it does).
        header_problem: why the header could not be checked (None when it was).
    """

    sha256: str | None
    sha256_weights: str | None
    size: int
    mtime: float
    inode: int
    incomplete: str | None = None
    header_problem: str | None = None

    @property
    def autov2(self) -> str | None:
        """The first 10 hex digits of the file's SHA-256."""
        return self.sha256[:10] if self.sha256 else None

    @property
    def autov3(self) -> str | None:
        """The first 12 hex digits of the weights' SHA-256."""
        return self.sha256_weights[:12] if self.sha256_weights else None


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ino


def hash_file(
    path: str,
    *,
    safetensors: bool | None = None,
    bytes_done: BytesDone | None = None,
    should_stop: StopCheck | None = None,
    table_check: TableChecker = check_table,
    direct: bool = False,
) -> HashResult:
    """Hash ``path`` in one pass (see the module's docstring).

    ``table_check`` checks the tensor table (a hash run passes a ``TableWorker``'s,
    which runs it in a helper process). ``direct``: a file of ``DIRECT_MIN`` bytes or
    more that the kernel has not cached is read with ``O_DIRECT`` (``direct_read``;
    a hash run on a solid-state disk asks for it).

    Raises:
        HeaderError: the file cannot be opened or read (missing, not a regular file).
        FileChanged: it changed during the pass.
        HashStopped: ``should_stop`` returned True.
    """
    if safetensors is None:
        safetensors = path.lower().endswith(".safetensors")
    fd, st = open_regular(path)
    try:
        whole = hashlib.sha256()
        weights: hashlib._Hash | None = None
        incomplete: str | None = None
        problem: str | None = None
        header: bytes | None = None
        data_start = 0  # where a safetensors file's tensor data begins
        done = 0
        if safetensors and st.st_size < 8:
            problem = f"only {st.st_size} bytes: too short for a safetensors file"
            incomplete = "empty file (0 bytes)" if st.st_size == 0 else None
        elif safetensors:
            prefix = read_exact(fd, 8)
            whole.update(prefix)
            done = 8
            claimed = int.from_bytes(prefix, "little")
            try:
                check_length(claimed, st.st_size)
            except HeaderError as exc:
                problem = exc.message
                incomplete = exc.message if exc.incomplete else None
            else:
                weights = hashlib.sha256()
                data_start = 8 + claimed
                if claimed <= INDEX_CAP:
                    header = read_exact(fd, claimed)
                    whole.update(header)
                    done += claimed
                else:
                    problem = "header too large to check its tensor table"
                    done += _pump(fd, claimed, (whole,), bytes_done, should_stop)
        if bytes_done is not None and done:
            bytes_done(min(done, 8 + (len(header) if header is not None else 0)))
        hashers = (whole,) if weights is None else (whole, weights)
        if direct and st.st_size >= DIRECT_MIN and cached_in_middle(fd, st.st_size) is False:
            done += _pump_direct(path, fd, done, hashers, bytes_done, should_stop)
        done += _pump(fd, None, hashers, bytes_done, should_stop)
        after_open = os.fstat(fd)
    finally:
        os.close(fd)
    try:
        after_path = os.stat(path)
    except OSError:
        raise FileChanged("the file disappeared while it was hashed") from None
    if not (_identity(st) == _identity(after_open) == _identity(after_path)) or done != st.st_size:
        raise FileChanged("the file changed while it was hashed")
    if header is not None:
        try:
            incomplete = table_check(header, st.st_size - 8 - len(header)).incomplete
        except HeaderError as exc:
            problem = exc.message
            weights = None  # not a safetensors header: what follows it is no weights
    if weights is not None and st.st_size == data_start:
        weights = None  # no tensor data: an AutoV3 of nothing would match every such file
    return HashResult(
        sha256=None if incomplete else whole.hexdigest(),
        sha256_weights=None if incomplete or weights is None else weights.hexdigest(),
        size=st.st_size,
        mtime=st.st_mtime,
        inode=st.st_ino,
        incomplete=incomplete,
        header_problem=problem,
    )


_local = threading.local()
_ADVISE = hasattr(os, "posix_fadvise")


def _buffer() -> memoryview:
    """This thread's read buffer: allocating (and zeroing) 4 MiB per file, with the GIL
    held, cost more than hashing a small file."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(CHUNK))
    return view


def _pump(
    fd: int,
    limit: int | None,
    hashers: tuple[hashlib._Hash, ...],
    bytes_done: BytesDone | None,
    should_stop: StopCheck | None,
) -> int:
    """Feed ``limit`` bytes (None: to the end) from ``fd`` to every hasher; return the count."""
    view = _buffer()
    total = 0
    position = os.lseek(fd, 0, os.SEEK_CUR) if _ADVISE else 0
    advise = _ADVISE
    with open(fd, "rb", buffering=0, closefd=False) as stream:
        while limit is None or total < limit:
            if should_stop is not None and should_stop():
                raise HashStopped
            want = CHUNK if limit is None else min(CHUNK, limit - total)
            count = stream.readinto(view[:want])
            if not count:
                break
            position += count
            if advise and count == CHUNK:
                # A cold file: the kernel reads the next chunk while this one is hashed
                # (a no-op for cached pages).
                try:
                    os.posix_fadvise(fd, position, CHUNK, os.POSIX_FADV_WILLNEED)
                except OSError:
                    advise = False
            chunk = view[:count]
            for hasher in hashers:
                hasher.update(chunk)
            total += count
            if bytes_done is not None:
                bytes_done(count)
    return total


def _pump_direct(
    path: str,
    fd: int,
    start: int,
    hashers: tuple[hashlib._Hash, ...],
    bytes_done: BytesDone | None,
    should_stop: StopCheck | None,
) -> int:
    """Feed the bytes from ``start`` to every hasher with direct reads; return the count.

    Where direct reading stops early (refused, or an error) ``fd`` is left at that
    point, for ``_pump`` to go on with ordinary reads.
    """
    total = 0
    with DirectChunks(path, fd, start, CHUNK) as chunks:
        for chunk in chunks:
            if should_stop is not None and should_stop():
                raise HashStopped
            for hasher in hashers:
                hasher.update(chunk)
            total += len(chunk)
            if bytes_done is not None:
                bytes_done(len(chunk))
    os.lseek(fd, start + total, os.SEEK_SET)
    return total
