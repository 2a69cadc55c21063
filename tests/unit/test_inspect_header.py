"""The bounded safetensors header reader, with real files: every bad input of issue 4."""

from __future__ import annotations

import json
import os
import struct
import threading
import tracemalloc
from pathlib import Path

import pytest

from lora_desktop.services.inspect.header_json import (
    HeaderError,
    extract_metadata,
    extract_metadata_text,
)
from lora_desktop.services.inspect.safetensors_header import INDEX_CAP, read_header
from tests.inspect_files import kohya_metadata, raw_file, write_safetensors


def _error(path: Path) -> HeaderError:
    with pytest.raises(HeaderError) as caught:
        read_header(str(path))
    return caught.value


def test_metadata_is_read_from_a_real_file(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "a.safetensors", kohya_metadata())
    header = read_header(str(path))
    assert header.metadata is not None
    assert header.metadata["ss_output_name"] == "redhair_v2"
    assert header.metadata["ss_cache_latents"] == "True"
    assert header.note is None
    assert header.file_size == path.stat().st_size


def test_a_header_without_metadata_has_an_empty_one(tmp_path: Path) -> None:
    header = read_header(str(write_safetensors(tmp_path / "a.safetensors", None)))
    assert header.metadata == {}


def test_metadata_after_the_tensors_is_found_by_the_full_parse() -> None:
    text = (
        '{"t": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}, "__metadata__": {"k": "v"}}'
    )
    assert extract_metadata(text) == ({"k": "v"}, None)


def test_the_key_inside_a_string_is_not_taken_for_metadata() -> None:
    text = json.dumps({"t": {"dtype": "F16", "note": '"__metadata__": {"evil": "x"}'}})
    assert extract_metadata(text) == ({}, None)


def test_a_zero_byte_file_is_reported_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.safetensors"
    path.touch()
    error = _error(path)
    assert error.message == "empty file (0 bytes)"
    assert error.incomplete


@pytest.mark.parametrize("claimed", [10_000, 2**63, 2**64 - 1])
def test_a_header_longer_than_the_file_is_refused_without_allocating(
    tmp_path: Path, claimed: int
) -> None:
    path = raw_file(tmp_path / "long.safetensors", claimed, b"{}" + b" " * 100)
    tracemalloc.start()
    try:
        error = _error(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"header claims {claimed:,} bytes" in error.message
    assert "the file holds only 102 after the length" in error.message
    assert peak < 1024 * 1024


def test_a_150_mb_header_is_registered_as_not_indexed_with_bounded_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "huge.safetensors"
    claimed = 150 * 1024 * 1024
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", claimed) + b"{")
        handle.truncate(8 + claimed)  # sparse: quick to write, 150 MB claimed and present
    tracemalloc.start()
    try:
        header = read_header(str(path))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert header.metadata is None
    assert header.note == "metadata not indexed: the header is 150 MiB (over 32 MiB)"
    assert peak < 1024 * 1024  # nothing of the header was read
    assert claimed > INDEX_CAP


def test_a_truncated_header_is_reported(tmp_path: Path) -> None:
    path = raw_file(tmp_path / "cut.safetensors", 50, b'{"__metadata__": {"a": "b"')
    error = _error(path)
    assert "header claims 50 bytes" in error.message
    assert error.incomplete


def test_a_header_cut_inside_its_json_is_invalid_json(tmp_path: Path) -> None:
    body = b'{"__metadata__": {"a": "b"'
    path = raw_file(tmp_path / "cut.safetensors", len(body), body)
    assert "header is not valid JSON" in _error(path).message


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'"text"', b"42", b"null", b"   "])
def test_json_that_is_not_an_object_is_refused(tmp_path: Path, body: bytes) -> None:
    path = raw_file(tmp_path / "list.safetensors", len(body), body)
    assert _error(path).message == "header is not a JSON object"


def test_non_string_metadata_values_are_dropped_and_named(tmp_path: Path) -> None:
    metadata = {"ss_output_name": "x", "ss_epoch": 3, "nested": {"a": "b"}}
    header = read_header(str(write_safetensors(tmp_path / "a.safetensors", metadata)))
    assert header.metadata == {"ss_output_name": "x"}
    assert header.note == "__metadata__ values that are not strings were ignored: nested, ss_epoch"


def test_metadata_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    body = b'{"__metadata__": "oops"}'
    path = raw_file(tmp_path / "a.safetensors", len(body), body)
    assert _error(path).message == "__metadata__ is not a JSON object"


def test_invalid_utf8_is_refused_with_its_offset(tmp_path: Path) -> None:
    body = b'{"__metadata__": {"a": "\xff\xfe"}}'
    path = raw_file(tmp_path / "bad.safetensors", len(body), body)
    assert _error(path).message == "header is not valid UTF-8 (byte 24)"


def test_a_surrogate_escape_is_not_valid_utf8(tmp_path: Path) -> None:
    body = b'{"__metadata__": {"a": "\xed\xa0\x80"}}'
    path = raw_file(tmp_path / "bad.safetensors", len(body), body)
    assert "not valid UTF-8" in _error(path).message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    body = b'{"__metadata__": {"a": "1", "a": "2"}}'
    path = raw_file(tmp_path / "dup.safetensors", len(body), body)
    assert _error(path).message == "header repeats the key 'a'"


@pytest.mark.parametrize("where", ["metadata", "tensor"])
def test_deeply_nested_json_is_refused_without_crashing(tmp_path: Path, where: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = (
        f'{{"__metadata__": {{"a": {deep}}}}}'
        if where == "metadata"
        else f'{{"t": {deep}, "__metadata__": {{}}}}'
    ).encode()
    path = raw_file(tmp_path / "deep.safetensors", len(body), body)
    assert "nested too deeply" in _error(path).message


def test_nan_is_not_json(tmp_path: Path) -> None:
    body = b'{"t": {"x": NaN}, "__metadata__": {}}'
    path = raw_file(tmp_path / "nan.safetensors", len(body), body)
    assert _error(path).message == "header holds NaN, which is not JSON"


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "x.safetensors"
    os.mkfifo(fifo)
    outcome: list[str] = []
    reader = threading.Thread(target=lambda: outcome.append(_error(fifo).message), daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert outcome == ["not a regular file (a pipe, device or folder); not read"]


def test_a_file_that_disappeared_is_reported(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "gone.safetensors", {})
    path.unlink()
    assert _error(path).message == "the file disappeared before it could be read"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file whatever its mode")
def test_a_file_without_read_permission_is_reported(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "locked.safetensors", {})
    path.chmod(0)
    assert _error(path).message.startswith("cannot be read: Permission denied")


def test_metadata_text_is_the_headers_own_json_when_it_decodes_to_the_same() -> None:
    text = '{"__metadata__": {"k": "v", "e": "\\u00e9"}, "w": {"dtype": "F16"}}'
    metadata, note, raw = extract_metadata_text(text)
    assert (metadata, note) == ({"k": "v", "e": "é"}, None)
    assert raw == '{"k": "v", "e": "\\u00e9"}'
    assert json.loads(raw) == metadata
    # Values dropped, or the key not first: no text (the dict is re-encoded instead).
    assert extract_metadata_text('{"__metadata__": {"k": 1, "j": "v"}}')[2] is None
    assert extract_metadata_text('{"w": {}, "__metadata__": {"k": "v"}}')[2] is None
