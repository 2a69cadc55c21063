"""A bounded reader of safetensors headers: 8-byte little-endian length, then JSON.

Safety rules (issue 4): anything that is not a regular file is refused before it
is opened (a FIFO would block ``open`` forever), the file is opened with
``O_NONBLOCK`` as a second guard, never memory-mapped (a file truncated while
mapped kills the process with SIGBUS), and the claimed length is checked against
the file's size and a cap before a byte is allocated. The JSON must be strict
UTF-8, an object at the top, without duplicate keys, and nested no deeper than a
safetensors header can be.

Three readers: ``read_header`` (registration of one file, ``scan``) reads the whole
header, checks its UTF-8 and that it is one object, and extracts only ``__metadata__``,
which is about ten times faster than parsing all ~2,000 tensor entries;
``read_header_prefix`` (bulk registration) reads only as far as the leading
``__metadata__`` ends; ``tensor_table.check_table`` (the hash pass, which reads the whole
file anyway) parses and checks everything.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, Literal

INDEX_CAP = 32 * 1024 * 1024
"""Largest header whose metadata is indexed; a bigger one is registered as "not indexed"."""
HEADER_MIN = 2
MAX_DEPTH = 3
"""A valid header nests no deeper: top object → tensor entry → shape list."""
DTYPE_SIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}
_WS = " \t\n\r"


class HeaderError(Exception):
    """The header cannot be read; ``incomplete`` when the file may still be downloading."""

    def __init__(self, message: str, *, incomplete: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.incomplete = incomplete


@dataclass(frozen=True)
class Header:
    """What registration learns from a header without parsing the tensor table.

    Attributes:
        header_size: bytes of JSON after the 8-byte length.
        file_size: the file's size when it was read.
        metadata: ``__metadata__`` (string → string); None when not indexed.
        note: why metadata is missing or partial (shown to the artist), else None.
        metadata_json: ``__metadata__``'s JSON text exactly as in the file, when it is
            an object of strings read on the fast path (stored as it is: no re-encoding).
    """

    header_size: int
    file_size: int
    metadata: dict[str, str] | None
    note: str | None = None
    metadata_json: str | None = None

    @property
    def data_offset(self) -> int:
        """Where the tensor data starts: after the length and the JSON."""
        return 8 + self.header_size


PREFIX_READ = 64 * 1024
"""First read of ``read_header_prefix``: kohya's ``__metadata__`` is usually a few KiB."""
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_READ_MAX = 8 * 1024 * 1024


def open_regular(path: str, before: os.stat_result | None = None) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading only if it is a regular file; return the fd and its stat.

    ``before`` is the path's ``os.stat`` when the caller has just taken it (a batch
    checks each file first); otherwise the path is stat'ed here, before it is opened.

    Raises:
        HeaderError: missing, unreadable or not a regular file.
    """
    if before is None:
        try:
            before = os.stat(path)
        except FileNotFoundError:
            raise HeaderError("the file disappeared before it could be read") from None
        except OSError as exc:
            raise HeaderError(f"cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(before.st_mode):
        raise HeaderError("not a regular file (a pipe, device or folder); not read")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise HeaderError("the file disappeared before it could be read") from None
    except OSError as exc:
        raise HeaderError(f"cannot be read: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # swapped for something else between stat and open
        os.close(fd)
        raise HeaderError("not a regular file (a pipe, device or folder); not read")
    return fd, st


def read_exact(fd: int, size: int) -> bytes:
    """Read exactly ``size`` bytes (the caller has checked ``size`` against its cap).

    Raises:
        HeaderError: the file ended first (truncated, or shrinking while read).
    """
    first = os.read(fd, min(size, _READ_MAX))
    if len(first) == size:  # the usual case: one read
        return first
    parts = [first] if first else []
    left = size - len(first)
    while left > 0:
        chunk = os.read(fd, min(left, _READ_MAX))
        if not chunk:
            raise HeaderError(
                f"the file ended {left} bytes early: truncated or still downloading",
                incomplete=True,
            )
        parts.append(chunk)
        left -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def check_length(claimed: int, file_size: int) -> None:
    """Refuse a claimed header length that the file cannot hold.

    Raises:
        HeaderError: too small, or longer than what follows the length field.
    """
    if claimed < HEADER_MIN:
        raise HeaderError(f"header length {claimed} is too small: not a safetensors file")
    if claimed > file_size - 8:
        raise HeaderError(
            f"header claims {claimed:,} bytes but the file holds only {file_size - 8:,} after "
            "the length: truncated, still downloading, or not a safetensors file",
            incomplete=claimed < 2**40,
        )


def _open_header(path: str, before: os.stat_result | None) -> tuple[int, int, int]:
    """Open a header and read its length: (fd, file size, claimed length), fd left open.

    Raises:
        HeaderError: not a regular file, too short, or a length the file cannot hold.
    """
    fd, st = open_regular(path, before)
    try:
        size = st.st_size
        if size == 0:
            raise HeaderError("empty file (0 bytes)", incomplete=True)
        if size < 8:
            raise HeaderError(f"only {size} bytes: too short for a safetensors file")
        claimed = int.from_bytes(read_exact(fd, 8), "little")
        check_length(claimed, size)
    except BaseException:
        os.close(fd)
        raise
    return fd, size, claimed


def _not_indexed(claimed: int, size: int) -> Header:
    return Header(
        claimed,
        size,
        None,
        f"metadata not indexed: the header is {claimed / 2**20:.0f} MiB "
        f"(over {INDEX_CAP // 2**20} MiB)",
    )


def read_header(path: str, before: os.stat_result | None = None) -> Header:
    """Read a whole header and its ``__metadata__``, without parsing the tensor table.

    ``before``: the path's stat, when the caller has just taken it (see ``open_regular``).

    Raises:
        HeaderError: with a message for the artist.
    """
    fd, size, claimed = _open_header(path, before)
    try:
        if claimed > INDEX_CAP:
            return _not_indexed(claimed, size)
        raw = read_exact(fd, claimed)
    finally:
        os.close(fd)
    metadata, note, text = extract_metadata_text(decode_text(raw))
    return Header(claimed, size, metadata, note, text)


def read_header_prefix(path: str, before: os.stat_result | None = None) -> Header:
    """Read a header only as far as its leading ``__metadata__`` (bulk registration).

    The file and its length are checked as by ``read_header`` (regular file, length
    against the file's size and the cap, nothing allocated before). Then only
    ``PREFIX_READ`` bytes are read, and more (doubling) only while ``__metadata__``
    runs past them. What was read must be strict UTF-8 and ``__metadata__`` strict
    JSON (duplicate keys, NaN and deep nesting refused), as in ``read_header``. The
    rest of the header is neither read nor checked here: the hash pass checks all of
    it (``tensor_table.check_table``: UTF-8, one JSON object, duplicate keys, depth,
    the tensor table). Any other layout (``__metadata__`` not the first key, none at
    all, anything odd in what was read) falls back to reading the whole header, so
    such a file gets exactly what ``read_header`` returns or raises.

    Raises:
        HeaderError: with a message for the artist.
    """
    fd, size, claimed = _open_header(path, before)
    try:
        if claimed > INDEX_CAP:
            return _not_indexed(claimed, size)
        raw = read_exact(fd, min(claimed, PREFIX_READ))
        while len(raw) < claimed:
            found = _leading_metadata(raw)
            if found == "more":
                raw += read_exact(fd, min(claimed - len(raw), len(raw)))
            elif found == "other":
                raw += read_exact(fd, claimed - len(raw))
            else:
                metadata, note, text = found
                return Header(claimed, size, metadata, note, text)
    finally:
        os.close(fd)
    metadata, note, text = extract_metadata_text(decode_text(raw))
    return Header(claimed, size, metadata, note, text)


_Leading = tuple[dict[str, str], str | None, str | None] | Literal["more", "other"]


def _leading_metadata(raw: bytes) -> _Leading:
    """``extract_metadata_text`` of the first bytes of a header, when ``__metadata__`` is
    its first key and ends within them.

    "more": they end inside it. "other": anything else, for the full read to judge
    (another layout, invalid UTF-8, a duplicate key, a value that is not an object...).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end != len(raw) or exc.reason != "unexpected end of data":
            return "other"
        text = raw[: exc.start].decode("utf-8")  # the read cut a character in two
    index = _skip_ws(text, 0)
    if not text.startswith("{", index):
        return "other"
    index = _skip_ws(text, index + 1)
    if not text.startswith('"', index):
        return "other"
    try:
        key, after = scanstring(text, index + 1, True)
    except ValueError:
        return "other"
    if key != "__metadata__":
        return "other"
    colon = _skip_ws(text, after)
    if colon == len(text):
        return "more"
    if text[colon] != ":":
        return "other"
    begin = _skip_ws(text, colon + 1)
    try:
        value, end = _DECODER.raw_decode(text, begin)
        kept, note = metadata_strings(value)
    except json.JSONDecodeError:
        return "more"  # cut short, or invalid: reading on tells (the full read, at worst)
    except (HeaderError, RecursionError):
        return "other"
    return kept, note, text[begin:end] if note is None else None


def decode_text(raw: bytes) -> str:
    """Decode header bytes as strict UTF-8.

    Raises:
        HeaderError: invalid UTF-8, with the byte offset.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError(f"header is not valid UTF-8 (byte {exc.start})") from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise HeaderError(f"header repeats the key {dup[:80]!r}")
    return out


def _reject_constant(name: str) -> Any:
    raise HeaderError(f"header holds {name}, which is not JSON")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, strict=True
)


def _decode_at(text: str, index: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, index)
    except RecursionError:
        raise HeaderError("header JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise HeaderError(f"header is not valid JSON: {exc.msg} at character {exc.pos}") from None


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WS:
        index += 1
    return index


def _check_outer(text: str) -> int:
    start = _skip_ws(text, 0)
    end = len(text)
    while end > start and text[end - 1] in _WS:  # not rstrip(): that copies the header
        end -= 1
    if start >= end or text[start] != "{":
        raise HeaderError("header is not a JSON object")
    if text[end - 1] != "}":
        raise HeaderError("header is not valid JSON: its object is not closed (cut short?)")
    return start


def extract_metadata(text: str) -> tuple[dict[str, str], str | None]:
    """Return ``__metadata__`` (and a note on ignored values) from a header's JSON text.

    See ``extract_metadata_text``.

    Raises:
        HeaderError: not an object, invalid JSON, duplicate keys, too deep.
    """
    metadata, note, _text = extract_metadata_text(text)
    return metadata, note


def extract_metadata_text(text: str) -> tuple[dict[str, str], str | None, str | None]:
    """``__metadata__``, a note on ignored values, and its JSON text when usable as is.

    The text is given only on the fast path and when every value is a string (so it
    decodes to exactly the returned dict); otherwise it is None.

    Fast path: safetensors writers put ``__metadata__`` first, so its key is read at
    the exact position of the first key and only its value is decoded. A header
    without the string ``"__metadata__"`` has none. Anything else falls back to a
    full parse, so the result never depends on where the key is.

    Raises:
        HeaderError: not an object, invalid JSON, duplicate keys, too deep.
    """
    start = _check_outer(text)
    index = _skip_ws(text, start + 1)
    if text.startswith('"', index):
        try:
            key, after = scanstring(text, index + 1, True)
        except ValueError as exc:
            raise HeaderError(f"header is not valid JSON: {exc}") from None
        if key == "__metadata__":
            colon = _skip_ws(text, after)
            if not text.startswith(":", colon):
                raise HeaderError(f"header is not valid JSON: ':' expected at {colon}")
            begin = _skip_ws(text, colon + 1)
            value, end = _decode_at(text, begin)
            kept, note = metadata_strings(value)
            return kept, note, text[begin:end] if note is None else None
    if '"__metadata__"' not in text:
        return {}, None, None
    document = parse_document(text)
    kept, note = metadata_strings(document.get("__metadata__", {}))
    return kept, note, None


def parse_document(text: str) -> dict[str, Any]:
    """Parse a whole header strictly and check its depth.

    Raises:
        HeaderError: not an object, invalid JSON, duplicate keys, too deep.
    """
    start = _check_outer(text)
    document, end = _decode_at(text, start)
    if _skip_ws(text, end) != len(text):
        raise HeaderError(f"header has data after its JSON object (character {end})")
    if not isinstance(document, dict):
        raise HeaderError("header is not a JSON object")
    if _text_depth(text) > MAX_DEPTH:  # rare: walk the entries to name the culprit
        for key, value in document.items():
            if _depth(value) > MAX_DEPTH - 1:
                raise HeaderError(f"header entry {key[:80]!r} is nested too deeply")
    return document


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: no alternation per character
_BRACKETS_ONLY = {c: None for c in range(128) if chr(c) not in "{}[]"}


def _text_depth(text: str) -> int:
    """The deepest nesting of objects and arrays in valid JSON ``text``.

    Strings are cut out and what remains is reduced to its brackets, both in C; only
    the brackets (a few per tensor entry) are walked in Python. Walking the decoded
    values instead took most of the tensor-table check (~10 of 15 ms for 2,000 entries).
    """
    brackets = _STRING.sub("", text).translate(_BRACKETS_ONLY)
    depth = deepest = 0
    for char in brackets:
        if char in "{[":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char in "}]":
            depth -= 1
    return deepest


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def metadata_strings(value: Any) -> tuple[dict[str, str], str | None]:
    """Keep the string → string pairs of ``__metadata__``; say which were ignored.

    Raises:
        HeaderError: ``__metadata__`` is not an object.
    """
    if not isinstance(value, dict):
        raise HeaderError("__metadata__ is not a JSON object")
    try:  # the usual case, checked in C: every value a string (join refuses anything else)
        "".join(value.values())
    except TypeError:
        pass
    else:
        return dict(value), None
    kept = {k: v for k, v in value.items() if isinstance(v, str)}
    if len(kept) == len(value):
        return kept, None
    ignored = sorted(k for k in value if k not in kept)
    names = ", ".join(ignored[:5]) + (" …" if len(ignored) > 5 else "")
    return kept, f"__metadata__ values that are not strings were ignored: {names}"
