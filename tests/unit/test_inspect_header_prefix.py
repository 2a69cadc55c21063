"""The bulk path's header reader: only the leading ``__metadata__`` is read.

Whatever it reads, it must answer as the whole-header reader does, except for a
problem after ``__metadata__`` (left to the hash pass, see
``tests/integration/test_inspect_bulk_header.py``).
"""

from __future__ import annotations

import json
import os
import struct
import tracemalloc
from pathlib import Path

import pytest

from lora_desktop.services.inspect import safetensors_header
from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.safetensors_header import Header, read_header, read_header_prefix
from tests.inspect_files import kohya_metadata, raw_file, write_safetensors

DEEP = "[" * 100_000 + "]" * 100_000
TENSORS = {f"lora_unet_{i}.lora_down.weight": ("F16", [4, 8]) for i in range(50)}


def _outcome(
    reader: object, path: Path, monkeypatch: pytest.MonkeyPatch, first: int
) -> Header | tuple[str, bool]:
    monkeypatch.setattr(safetensors_header, "PREFIX_READ", first)
    try:
        return reader(str(path))  # type: ignore[operator, no-any-return]
    except HeaderError as exc:
        return exc.message, exc.incomplete


# Every bad input of issue 4 that a header can be, and some good ones.
BODIES = {
    "not closed": b'{"__metadata__": {"a": "b"',
    "list": b"[1, 2, 3]",
    "string": b'"text"',
    "number": b"42",
    "null": b"null",
    "spaces": b"   ",
    "empty object": b"{}",
    "metadata not an object": b'{"__metadata__": "oops"}',
    "metadata a number cut": b'{"__metadata__": 12345}',
    "invalid utf-8 in metadata": b'{"__metadata__": {"a": "\xff\xfe"}}',
    "surrogate in metadata": b'{"__metadata__": {"a": "\xed\xa0\x80"}}',
    "utf-8 cut at the end": b'{"__metadata__": {"a": "\xe2\x82"}}',
    "duplicate metadata keys": b'{"__metadata__": {"a": "1", "a": "2"}}',
    "deep metadata": f'{{"__metadata__": {{"a": {DEEP}}}}}'.encode(),
    "deep tensor first": f'{{"t": {DEEP}, "__metadata__": {{}}}}'.encode(),
    "nan first": b'{"t": {"x": NaN}, "__metadata__": {}}',
    "bad key escape": b'{"\\x": 1}',
    "no colon": b'{"__metadata__" {"a": "b"}}',
    "escaped key": b'{"\\u005f_metadata__": {"a": "b"}, "t": {}}',
    "metadata second": b'{"t": {"dtype": "F16"}, "__metadata__": {"a": "b"}}',
    "non-string values": json.dumps({"__metadata__": {"a": "x", "n": 3, "o": {}}}).encode(),
    "nan in metadata": b'{"__metadata__": {"a": NaN}}',
    "trailing spaces": b'{"__metadata__": {"a": "\xc3\xa9"}}' + b" " * 40,
}


@pytest.mark.parametrize("first", [1, 7, 20, 64 * 1024])
@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_prefix_reader_answers_as_the_whole_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, first: int
) -> None:
    body = BODIES[name]
    path = raw_file(tmp_path / "a.safetensors", len(body), body)
    whole = _outcome(read_header, path, monkeypatch, first)
    assert _outcome(read_header_prefix, path, monkeypatch, first) == whole


@pytest.mark.parametrize(
    "body",
    [b"", b"\x01\x02\x03", struct.pack("<Q", 10_000) + b"{}", struct.pack("<Q", 2**63) + b"{}"],
)
def test_lengths_are_checked_as_by_the_whole_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    path = tmp_path / "short.safetensors"
    path.write_bytes(body)
    tracemalloc.start()
    try:
        outcome = _outcome(read_header_prefix, path, monkeypatch, 64 * 1024)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome == _outcome(read_header, path, monkeypatch, 64 * 1024)
    assert isinstance(outcome, tuple)
    assert peak < 1024 * 1024


def test_a_150_mb_header_is_not_indexed_and_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", 150 * 1024 * 1024) + b'{"__metadata__": {}}')
        handle.truncate(8 + 150 * 1024 * 1024)
    header = read_header_prefix(str(path))
    assert header.metadata is None
    assert header.note == "metadata not indexed: the header is 150 MiB (over 32 MiB)"


def test_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "x.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(HeaderError, match="not a regular file"):
        read_header_prefix(str(fifo))


class _CountingReads:
    """Wraps the reader's ``read_exact`` to record the bytes asked for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[int] = []
        real = safetensors_header.read_exact

        def read_exact(fd: int, size: int) -> bytes:
            self.asked.append(size)
            return real(fd, size)

        monkeypatch.setattr(safetensors_header, "read_exact", read_exact)


def _kohya_file(tmp_path: Path, **overrides: str) -> Path:
    return write_safetensors(tmp_path / "a.safetensors", kohya_metadata(**overrides), TENSORS)


def test_a_writers_header_is_read_only_as_far_as_its_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _kohya_file(tmp_path)
    claimed = struct.unpack("<Q", path.read_bytes()[:8])[0]
    monkeypatch.setattr(safetensors_header, "PREFIX_READ", 1024)
    reads = _CountingReads(monkeypatch)
    header = read_header_prefix(str(path))
    assert reads.asked[:1] == [8 + 1024]  # the length and the first part in one read
    assert sum(reads.asked) < 8 + claimed
    assert header == read_header(str(path))  # the same metadata and JSON text
    assert header.metadata_json is not None


def test_metadata_longer_than_the_first_read_is_read_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_value = "é" * 3000 + "x"  # two bytes a character: reads end inside characters too
    metadata = json.dumps(kohya_metadata(ss_training_comment=long_value), ensure_ascii=False)
    table = json.dumps({"t": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})
    body = f'{{"__metadata__": {metadata}, {table[1:-1]}, {" " * 20_000}}}'.encode()
    path = raw_file(tmp_path / "a.safetensors", len(body), body + b"\x00" * 4)
    claimed = len(body)
    monkeypatch.setattr(safetensors_header, "PREFIX_READ", 999)
    reads = _CountingReads(monkeypatch)
    header = read_header_prefix(str(path))
    assert reads.asked[:3] == [8 + 999, 999, 1998]  # length and first part, then more
    assert sum(reads.asked) < 8 + claimed  # still not the whole header
    assert header.metadata is not None
    assert header.metadata["ss_training_comment"] == long_value
    assert header == read_header(str(path))


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b'"\xff": {}}', id="invalid utf-8"),
        pytest.param(b'"t": {}, "t": {}}', id="duplicate keys"),
        pytest.param(b'"t": ' + DEEP.encode() + b"}", id="deep nesting"),
        pytest.param(b'"t": {"dtype": "F16", "shape": [2], "data_offsets": [4, 8]}}', id="gap"),
        pytest.param(b'"t": {"dtype": ', id="not closed"),
    ],
)
def test_a_problem_after_the_metadata_is_left_to_the_hash_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tail: bytes
) -> None:
    # The problem comes after the first read.
    body = b'{"__metadata__": {"ss_output_name": "x"}, ' + b" " * 70_000 + tail
    path = raw_file(tmp_path / "a.safetensors", len(body), body)
    header = read_header_prefix(str(path))
    assert (header.metadata, header.note) == ({"ss_output_name": "x"}, None)
    assert header.header_size == len(body)
    # A header that fits in the first read is checked whole, as by the whole reader.
    whole = _outcome(read_header, path, monkeypatch, len(body))
    assert _outcome(read_header_prefix, path, monkeypatch, len(body)) == whole
