"""Recognising a preview image and its size from its first bytes, without decoding it.

A file that is not a PNG, JPEG or WebP, or whose picture is absurdly large (a
20,000 × 20,000 PNG would take 1.6 GB to decode), is refused before any decoder
sees it.
"""

from __future__ import annotations

import os
import struct

from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.safetensors_header import open_regular

PREVIEW_FILE_MAX = 50 * 1024 * 1024
PREVIEW_PIXELS_MAX = 8192 * 8192
_JPEG_SEGMENTS_MAX = 4096
"""Segments (or fill bytes) read past in a JPEG before its frame header, at most."""


class ImageProblem(Exception):
    """The file is not a usable preview image."""


def _jpeg_size(fd: int) -> tuple[int, int] | None:
    """The size in a JPEG's frame header, reached by hopping from segment to segment.

    Metadata segments (EXIF, XMP, an ICC profile split over many) can put the frame
    header hundreds of KiB in: each hop reads a segment's 9 header bytes, never its
    contents, at most ``_JPEG_SEGMENTS_MAX`` of them.
    """
    index = 2
    for _ in range(_JPEG_SEGMENTS_MAX):
        os.lseek(fd, index, os.SEEK_SET)
        head = os.read(fd, 9)
        if len(head) < 4 or head[0] != 0xFF:
            return None
        marker = head[1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        if marker in (0xD9, 0xDA):  # the image ended, or its data began, with no frame header
            return None
        (length,) = struct.unpack(">H", head[2:4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if len(head) < 9:
                return None
            height, width = struct.unpack(">HH", head[5:9])
            return width, height
        if length < 2:
            return None
        index += 2 + length
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def image_size(path: str) -> tuple[str, int, int]:
    """Return (format, width, height) of a preview image.

    Raises:
        ImageProblem: unreadable, not an image, too big a file or too many pixels.
    """
    try:
        fd, st = open_regular(path)
    except HeaderError as exc:
        raise ImageProblem(exc.message) from None
    try:
        if st.st_size > PREVIEW_FILE_MAX:
            raise ImageProblem(f"the image file is too large ({st.st_size / 2**20:.0f} MiB)")
        head = os.read(fd, 64)
        size: tuple[int, int] | None = None
        kind = ""
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            kind, size = "png", struct.unpack(">II", head[16:24])
        elif head.startswith(b"\xff\xd8"):
            kind, size = "jpeg", _jpeg_size(fd)
        elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
            kind, size = "webp", _webp_size(head)
    finally:
        os.close(fd)
    if size is None:
        raise ImageProblem("not a PNG, JPEG or WebP image")
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageProblem("the image has no pixels")
    if width * height > PREVIEW_PIXELS_MAX:
        raise ImageProblem(f"the image is too large to show ({width:,} × {height:,} pixels)")
    return kind, width, height
