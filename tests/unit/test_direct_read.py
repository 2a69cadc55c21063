"""Direct reads of large uncached files in the hash pass: same bytes, same hashes, and an
ordinary read wherever the direct one cannot go on."""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import threading
from pathlib import Path

import pytest

from lora_desktop.services.inspect import direct_read, hashing
from lora_desktop.services.inspect.direct_read import DirectChunks, cached_in_middle
from lora_desktop.services.inspect.hashing import HashStopped, hash_file
from tests.inspect_files import header_bytes
from tests.page_cache import resident_pages, uncached

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="O_DIRECT, Linux")

CHUNK = 64 * 1024  # small chunks: many reads, an odd tail


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "CHUNK", CHUNK)
    monkeypatch.setattr(hashing, "DIRECT_MIN", 4 * CHUNK)


def _safetensors(path: Path, data_size: int) -> Path:
    """A real safetensors file: one F16 tensor of ``data_size`` (even) random bytes."""
    raw, size = header_bytes({"w": ("F16", [data_size // 2])}, {"ss_output_name": "w"})
    assert size == data_size
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + os.urandom(data_size))
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    return path


def _direct_or_skip(path: Path) -> None:
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_DIRECT))
    except OSError:
        pytest.skip("this file system refuses O_DIRECT")
    if any(resident_pages(path)):
        pytest.skip("this file system keeps files in memory")


def _without_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``/proc/self/fd`` unusable to ``direct_read``: it reopens by the path."""
    real_open = os.open

    def no_proc(source: str, *args: int) -> int:
        if str(source).startswith("/proc/"):
            raise FileNotFoundError(source)
        return real_open(source, *args)

    monkeypatch.setattr(direct_read.os, "open", no_proc)


def _expected(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    return hashlib.sha256(data).hexdigest(), hashlib.sha256(data[header_end:]).hexdigest()


def test_chunks_from_an_unaligned_start_are_the_files_bytes(tmp_path: Path) -> None:
    path = uncached(tmp_path / "a.bin", 10 * CHUNK + 1234)
    _direct_or_skip(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        with DirectChunks(str(path), fd, 5000, CHUNK) as chunks:
            read = b"".join(bytes(chunk) for chunk in chunks)
        assert not chunks.failed
        assert chunks.position == path.stat().st_size
    finally:
        os.close(fd)
    assert read == path.read_bytes()[5000:]


def test_an_uncached_large_file_is_hashed_past_the_cache(tmp_path: Path) -> None:
    path = _safetensors(tmp_path / "big.safetensors", 20 * CHUNK + 78)
    _direct_or_skip(path)
    result = hash_file(str(path), direct=True)
    # Read with O_DIRECT: the data never entered the kernel's cache (its first pages,
    # the header read as usual, and the probed middle page may have).
    pages = resident_pages(path)
    assert sum(pages) < len(pages) // 4
    assert (result.sha256, result.sha256_weights) == _expected(path)
    assert (result.incomplete, result.header_problem) == (None, None)


def test_a_cached_file_is_read_from_the_cache(tmp_path: Path) -> None:
    path = _safetensors(tmp_path / "warm.safetensors", 20 * CHUNK)
    _direct_or_skip(path)
    path.read_bytes()  # now cached: copying from memory beats any disk
    used: list[bool] = []
    real = direct_read.DirectChunks.__init__

    def noted(self: DirectChunks, *args: object) -> None:
        used.append(True)
        real(self, *args)  # type: ignore[arg-type]

    direct_read.DirectChunks.__init__ = noted  # type: ignore[method-assign]
    try:
        result = hash_file(str(path), direct=True)
    finally:
        direct_read.DirectChunks.__init__ = real  # type: ignore[method-assign]
    assert used == []
    assert (result.sha256, result.sha256_weights) == _expected(path)


def test_a_failing_direct_read_goes_on_with_ordinary_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _safetensors(tmp_path / "flaky.safetensors", 20 * CHUNK + 6)
    _direct_or_skip(path)
    real_preadv = os.preadv
    calls: list[int] = []

    def flaky(fd: int, buffers: list[object], offset: int, *flags: int) -> int:
        if not flags:  # a direct read (the cache probe passes RWF_NOWAIT)
            calls.append(offset)
            if len(calls) == 3:
                raise OSError(errno.EINVAL, "refused mid-file")
        return real_preadv(fd, buffers, offset, *flags)  # type: ignore[arg-type]

    monkeypatch.setattr(direct_read.os, "preadv", flaky)
    result = hash_file(str(path), direct=True)
    assert len(calls) >= 3
    assert (result.sha256, result.sha256_weights) == _expected(path)


def test_a_file_renamed_over_the_path_is_never_read_for_the_open_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = uncached(tmp_path / "a.bin", 8 * CHUNK)
    _direct_or_skip(path)
    original = path.read_bytes()
    fd = os.open(path, os.O_RDONLY)
    try:
        (tmp_path / "b.bin").write_bytes(b"other" * 1000)
        os.replace(tmp_path / "b.bin", path)
        # Through /proc/self/fd: the open file itself, whatever the path holds now.
        with DirectChunks(str(path), fd, 0, CHUNK) as chunks:
            assert b"".join(bytes(c) for c in chunks) == original
        # Without /proc, by the path: another file there, so not read at all.
        _without_proc(monkeypatch)
        with DirectChunks(str(path), fd, 0, CHUNK) as chunks:
            assert list(chunks) == []
        assert chunks.failed  # the caller reads the open file (the original) instead
    finally:
        os.close(fd)


def test_a_fifo_swapped_in_is_never_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = uncached(tmp_path / "a.safetensors", 8 * CHUNK)
    _direct_or_skip(path)
    fd = os.open(path, os.O_RDONLY)
    _without_proc(monkeypatch)
    os.unlink(path)
    os.mkfifo(path)  # opening it for reading without O_NONBLOCK would wait for a writer
    outcome: list[bool] = []

    def attempt() -> None:
        with DirectChunks(str(path), fd, 0, CHUNK) as chunks:
            outcome.append(chunks.failed)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout=10)
    os.close(fd)
    assert outcome == [True]


def test_a_reader_that_fails_oddly_leaves_no_one_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _safetensors(tmp_path / "odd.safetensors", 20 * CHUNK)
    _direct_or_skip(path)
    real_preadv = os.preadv

    def odd(fd: int, buffers: list[object], offset: int, *flags: int) -> int:
        if not flags and offset >= 4 * CHUNK:
            raise RuntimeError("not an OSError")
        return real_preadv(fd, buffers, offset, *flags)  # type: ignore[arg-type]

    monkeypatch.setattr(direct_read.os, "preadv", odd)
    result = hash_file(str(path), direct=True)  # the rest read as usual
    assert (result.sha256, result.sha256_weights) == _expected(path)


def test_stopping_mid_file_ends_the_reader(tmp_path: Path) -> None:
    path = _safetensors(tmp_path / "stop.safetensors", 40 * CHUNK)
    _direct_or_skip(path)
    before = threading.active_count()
    asked: list[int] = []

    def stop_at_third() -> bool:
        asked.append(1)
        return len(asked) >= 3

    with pytest.raises(HashStopped):
        hash_file(str(path), direct=True, should_stop=stop_at_third)
    assert threading.active_count() == before


def test_the_cache_probe_tells_cold_from_warm(tmp_path: Path) -> None:
    # (A probe that misses may itself make the kernel read around the middle: one
    # probe per file.)
    size = 64 * CHUNK
    for name, reads, cached in (
        ("cold.bin", [(8, 0), (CHUNK, size - CHUNK)], False),  # header, quick key's end
        ("read.bin", [(CHUNK, size // 2 - CHUNK // 2)], True),
    ):
        path = uncached(tmp_path / name, size)
        fd = os.open(path, os.O_RDONLY)
        try:
            for length, offset in reads:
                os.pread(fd, length, offset)
            assert cached_in_middle(fd, size) is cached, name
        finally:
            os.close(fd)
