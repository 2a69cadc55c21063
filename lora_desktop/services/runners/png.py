"""PNG files with the prompt kept in a ``tEXt`` chunk, written by hand.

A1111 and ComfyUI both read a ``parameters`` text chunk back ("PNG info"). Adding
one chunk needs only the chunk layout (length, type, data, CRC-32), so the app
does it with ``struct`` and ``zlib`` rather than depend on an imaging library.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD_MAX = 79


class NotPng(ValueError):
    """The bytes are not a well-formed PNG."""


def chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each chunk's type and data, in order, CRCs checked.

    Raises:
        NotPng: no PNG signature, a truncated chunk or a bad CRC.
    """
    if not data.startswith(SIGNATURE):
        raise NotPng("not a PNG image (no PNG signature)")
    offset = len(SIGNATURE)
    while offset < len(data):
        if offset + 8 > len(data):
            raise NotPng("truncated PNG chunk header")
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        end = offset + 8 + length
        if end + 4 > len(data):
            raise NotPng("truncated PNG chunk")
        body = data[offset + 8 : end]
        (crc,) = struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(kind + body) != crc:
            raise NotPng(f"bad CRC in PNG chunk {kind!r}")
        yield kind, body
        offset = end + 4


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def text_chunk(keyword: str, text: str) -> bytes:
    """An encoded chunk holding ``text``: ``tEXt`` when it is Latin-1, else ``iTXt`` (UTF-8).

    Raises:
        ValueError: a keyword that PNG does not allow.
    """
    key = keyword.encode("latin-1")
    if not 0 < len(key) <= KEYWORD_MAX or b"\x00" in key:
        raise ValueError(f"bad PNG text keyword {keyword!r}")
    try:
        return _chunk(b"tEXt", key + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:
        # iTXt: keyword, NUL, no compression (0, 0), empty language and translated keyword.
        return _chunk(b"iTXt", key + b"\x00\x00\x00\x00\x00" + text.encode("utf-8"))


def with_text(data: bytes, keyword: str, text: str) -> bytes:
    """``data`` with a text chunk ``keyword`` = ``text`` inserted right after ``IHDR``
    (any chunk already holding that keyword is replaced).

    Raises:
        NotPng: ``data`` is not a well-formed PNG.
    """
    key = keyword.encode("latin-1") + b"\x00"
    out = [SIGNATURE]
    seen_header = False
    for kind, body in chunks(data):
        if kind in (b"tEXt", b"iTXt") and body.startswith(key):
            continue
        out.append(_chunk(kind, body))
        if kind == b"IHDR":
            seen_header = True
            out.append(text_chunk(keyword, text))
    if not seen_header:
        raise NotPng("PNG without an IHDR chunk")
    return b"".join(out)


def read_text(data: bytes) -> dict[str, str]:
    """The text chunks (``tEXt`` and uncompressed ``iTXt``) of a PNG, by keyword.

    Raises:
        NotPng: ``data`` is not a well-formed PNG.
    """
    found: dict[str, str] = {}
    for kind, body in chunks(data):
        if kind == b"tEXt":
            key, _, value = body.partition(b"\x00")
            found[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\x00")
            if rest[:1] == b"\x00":  # not compressed
                _lang, _, rest = rest[2:].partition(b"\x00")
                _translated, _, value = rest.partition(b"\x00")
                found[key.decode("latin-1")] = value.decode("utf-8")
    return found


def tiny_png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A valid solid-colour RGB PNG (for tests and the benchmark's fake runtimes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * width
    pixels = zlib.compress(row * height)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")
