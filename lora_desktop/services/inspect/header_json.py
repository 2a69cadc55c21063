"""Strict JSON reading of a safetensors header's text, and the error every header reader raises.

The JSON must be strict UTF-8, an object at the top, without duplicate keys or NaN,
and nested no deeper than a safetensors header can be (``MAX_DEPTH``). Here:
``decode_text`` (bytes to strict UTF-8), ``extract_metadata_text`` /
``extract_metadata_span`` / ``extract_metadata``
(``__metadata__`` alone, on a fast path when it is the first key),
``leading_metadata`` (the same from a header's first bytes, for
``safetensors_header.read_header_prefix``), ``parse_document`` (the whole header,
depth checked) and ``metadata_strings`` (the string → string pairs kept).
``HeaderError`` lives here because both this module and the file reading in
``safetensors_header`` raise it.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, Literal

MAX_DEPTH = 3
"""A valid header nests no deeper: top object → tensor entry → shape list."""
_WS = " \t\n\r"


class HeaderError(Exception):
    """The header cannot be read; ``incomplete`` when the file may still be downloading."""

    def __init__(self, message: str, *, incomplete: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.incomplete = incomplete


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


_DIGITS = re.compile(r"value has (\d+) digits")
"""In Python's message (which goes on about ``sys.set_int_max_str_digits``)."""


def _decode_at(text: str, index: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, index)
    except RecursionError:
        raise HeaderError("header JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise HeaderError(f"header is not valid JSON: {exc.msg} at character {exc.pos}") from None
    except ValueError as exc:  # an integer longer than Python converts (4,300 digits)
        digits = _DIGITS.search(str(exc))
        size = f" of {int(digits[1]):,} digits" if digits else ""
        raise HeaderError(f"header holds a number{size}, which is too long to read") from None


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


Leading = tuple[dict[str, str], str | None, str | None] | Literal["more", "other"]


def leading_metadata(raw: bytes) -> Leading:
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
    except (HeaderError, RecursionError, ValueError):
        return "other"
    return kept, note, text[begin:end] if note is None else None


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
    decodes to exactly the returned dict); otherwise it is None. See
    ``extract_metadata_span``.

    Raises:
        HeaderError: not an object, invalid JSON, duplicate keys, too deep.
    """
    kept, note, span = extract_metadata_span(text)
    return kept, note, None if span is None else text[span[0] : span[1]]


def extract_metadata_span(
    text: str,
) -> tuple[dict[str, str], str | None, tuple[int, int] | None]:
    """``__metadata__``, a note on ignored values, and where its JSON value lies.

    The span (start, end) of the value in ``text`` is given only on the fast path and
    when every value is a string (so it decodes to exactly the returned dict);
    otherwise it is None.

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
            return kept, note, (begin, end) if note is None else None
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


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in decoded ``text`` as its JSON escape (``\\ud800``), or None.

    JSON's grammar lets ``\\ud800`` stand alone, but it is half a character: such a
    string cannot be encoded as UTF-8, so it could be neither stored nor shown.
    """
    if text.isascii():  # O(1) for most strings: nothing to look for
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"\\u{ord(text[exc.start]):04x}"
    return None


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def escaped_lone_surrogate(text: str, value: Any) -> str | None:
    """``lone_surrogate`` of anything in ``value``, the JSON value decoded from ``text``.

    Only ``text`` holding an escape of a surrogate can decode to one (a quick search
    first; a pair decodes to one character and is fine).
    """
    if _ESCAPED_SURROGATE.search(text) is None:
        return None
    return lone_surrogate(json.dumps(value, ensure_ascii=False))


def _refuse_lone_surrogates(values: str, metadata: dict[str, str]) -> None:
    found = lone_surrogate(values) or lone_surrogate("".join(metadata))
    if found is not None:
        raise HeaderError(
            f"header is not valid UTF-8: __metadata__ escapes a lone surrogate ({found})"
        )


def metadata_strings(value: Any) -> tuple[dict[str, str], str | None]:
    """Keep the string → string pairs of ``__metadata__``; say which were ignored.

    Raises:
        HeaderError: ``__metadata__`` is not an object, or a key or value kept holds a
            lone surrogate.
    """
    if not isinstance(value, dict):
        raise HeaderError("__metadata__ is not a JSON object")
    try:  # the usual case, checked in C: every value a string (join refuses anything else)
        values = "".join(value.values())
    except TypeError:
        pass
    else:
        _refuse_lone_surrogates(values, value)
        return dict(value), None
    kept = {k: v for k, v in value.items() if isinstance(v, str)}
    _refuse_lone_surrogates("".join(kept.values()), kept)
    if len(kept) == len(value):
        return kept, None
    ignored = sorted(k for k in value if k not in kept)
    names = ", ".join(ignored[:5]) + (" …" if len(ignored) > 5 else "")
    return kept, f"__metadata__ values that are not strings were ignored: {names}"
