"""One-pass hashing with real files: SHA-256, AutoV2/AutoV3, the tensor table, changes."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from lora_desktop.services.inspect.hashing import FileChanged, hash_file
from tests.inspect_files import header_bytes, kohya_metadata, write_safetensors


def test_full_and_weights_hashes_match_hashlib(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "a.safetensors", kohya_metadata())
    content = path.read_bytes()
    header_len = struct.unpack("<Q", content[:8])[0]
    result = hash_file(str(path))
    assert result.sha256 == hashlib.sha256(content).hexdigest()
    assert result.sha256_weights == hashlib.sha256(content[8 + header_len :]).hexdigest()
    assert result.autov2 == result.sha256[:10]
    assert result.autov3 == result.sha256_weights[:12]
    assert (result.incomplete, result.header_problem) == (None, None)


def test_editing_only_metadata_keeps_autov3(tmp_path: Path) -> None:
    one = hash_file(str(write_safetensors(tmp_path / "a.safetensors", {"a": "1"})))
    two = hash_file(str(write_safetensors(tmp_path / "b.safetensors", {"a": "2"})))
    assert one.sha256 != two.sha256
    assert one.sha256_weights == two.sha256_weights


def test_a_file_still_downloading_is_incomplete_and_not_hashed(tmp_path: Path) -> None:
    tensors = {"w": ("F32", [1024])}
    raw, size = header_bytes(tensors, {})
    path = tmp_path / "partial.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\x00" * (size // 2))
    result = hash_file(str(path))
    assert (
        result.incomplete == "the tensor data is 2,048 bytes short: truncated or still downloading"
    )
    assert (result.sha256, result.sha256_weights) == (None, None)


def test_a_gap_in_the_tensor_table_is_reported(tmp_path: Path) -> None:
    raw = b'{"w": {"dtype": "F16", "shape": [2], "data_offsets": [4, 8]}}'
    path = tmp_path / "gap.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\x00" * 8)
    assert hash_file(str(path)).incomplete == "the tensor data has a gap at byte 0"


def test_a_pickle_gets_only_the_full_hash(tmp_path: Path) -> None:
    path = tmp_path / "a.pt"
    path.write_bytes(b"\x80\x02}q\x00.")
    result = hash_file(str(path))
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.sha256_weights is None


def test_a_file_that_changes_during_the_pass_is_thrown_away(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "a.safetensors", {}, {"w": ("F32", [4 * 1024 * 1024])})

    def append_once(_n: int, done: list[bool] = []) -> None:  # noqa: B006
        if not done:
            done.append(True)
            with path.open("ab") as handle:
                handle.write(b"more")

    with pytest.raises(FileChanged):
        hash_file(str(path), bytes_done=append_once)


@pytest.mark.parametrize(
    ("name", "header"),
    [("list", b"[1] "), ("string", b'"hello" '), ("not_json", b"{oops, 1]")],
)
def test_a_refused_header_gets_no_autov3(tmp_path: Path, name: str, header: bytes) -> None:
    # Unrelated broken files must not share an AutoV3 (the SHA-256 of whatever follows
    # the "header", here nothing) and be shown as the same weights.
    path = tmp_path / f"{name}.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"tail")
    result = hash_file(str(path))
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.sha256_weights is None
    assert result.autov3 is None
    assert result.header_problem


def test_a_header_without_tensor_data_gets_no_autov3(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "empty.safetensors", {"a": "1"}, tensors={})
    result = hash_file(str(path))
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (result.sha256_weights, result.header_problem, result.incomplete) == (None, None, None)
