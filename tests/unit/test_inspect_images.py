"""Preview images recognised from their headers: JPEG frame headers behind large metadata."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from lora_desktop.services.inspect.images import ImageProblem, image_size


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _jpeg(width: int, height: int, metadata_segments: int = 0) -> bytes:
    """SOI, a JFIF APP0, ``metadata_segments`` full APP2 segments (an ICC profile split
    in 64 KiB parts, as cameras and editors write it), the frame header, EOI."""
    parts = [b"\xff\xd8", _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")]
    parts += [_segment(0xE2, b"ICC_PROFILE\x00" + b"\x00" * 65_521)] * metadata_segments
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    parts += [_segment(0xC0, frame), b"\xff\xd9"]
    return b"".join(parts)


def test_a_jpeg_frame_header_after_400_kib_of_metadata_is_found(tmp_path: Path) -> None:
    path = tmp_path / "a.preview.jpg"
    path.write_bytes(_jpeg(640, 480, metadata_segments=6))
    assert path.stat().st_size > 390_000
    assert image_size(str(path)) == ("jpeg", 640, 480)


def test_a_plain_jpeg_and_a_huge_one_behind_metadata(tmp_path: Path) -> None:
    small = tmp_path / "small.jpg"
    small.write_bytes(_jpeg(512, 768))
    assert image_size(str(small)) == ("jpeg", 512, 768)
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(_jpeg(20_000, 20_000, metadata_segments=5))
    with pytest.raises(ImageProblem, match=r"too large to show \(20,000 × 20,000 pixels\)"):
        image_size(str(huge))


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xd8" + _segment(0xE1, b"Exif\x00\x00")[:4] + b"\x00" * 3,  # cut in a segment
        b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 32,  # data before any frame header
        b"\xff\xd8" + b"\xff" * 10_000,  # nothing but fill bytes
        b"\xff\xd8\xff\xe1\x00\x00" + b"\x00" * 64,  # a segment length under 2
    ],
    ids=["truncated", "scan first", "fill", "bad length"],
)
def test_a_broken_jpeg_is_not_an_image(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(body)
    with pytest.raises(ImageProblem, match="not a PNG, JPEG or WebP image"):
        image_size(str(path))
