"""The full check of a safetensors tensor table, run during the hash pass.

Every entry must name a known dtype, a shape of non-negative integers and
``data_offsets`` matching that shape; sorted by offset, the tensors must tile the
data exactly: no gap, no overlap, ending where the file ends.

The hash pass runs this on a hashing thread while the other one hashes: every
millisecond of Python here holds the GIL that the other thread (and the window)
waits for between reads. So the common header, as writers make it, is checked by
``_fast_check`` in a few C-level passes (one ``json`` decode, ``map`` over the
entries, list comparisons: about 3 ms for 2,000 entries instead of 8); anything
it does not positively accept, from an escaped tensor name to a gap in the data,
goes through the entry-by-entry check, which names the problem.
"""

from __future__ import annotations

import gc
import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter, mul, sub
from typing import Any

from lora_desktop.services.inspect.header_json import (
    HeaderError,
    decode_text,
    extract_metadata_text,
    metadata_strings,
    parse_document,
)
from lora_desktop.services.inspect.safetensors_header import DTYPE_SIZES


@dataclass(frozen=True)
class TableCheck:
    """The verdict on a tensor table.

    Attributes:
        tensors: how many tensor entries.
        incomplete: why the data does not match the table (None when it tiles exactly).
        metadata: the header's ``__metadata__`` (string → string).
    """

    tensors: int
    incomplete: str | None
    metadata: dict[str, str]


def _entry(name: str, value: Any) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise HeaderError(f"tensor {name[:80]!r} is not an object")
    dtype = value.get("dtype")
    shape = value.get("shape")
    offsets = value.get("data_offsets")
    if dtype not in DTYPE_SIZES:
        raise HeaderError(f"tensor {name[:80]!r} has an unknown dtype {str(dtype)[:20]!r}")
    # Exact types (JSON decodes to exactly these; a bool is not an int here).
    if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
        raise HeaderError(f"tensor {name[:80]!r} has a bad shape")
    if (
        type(offsets) is not list
        or len(offsets) != 2
        or type(offsets[0]) is not int
        or type(offsets[1]) is not int
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise HeaderError(f"tensor {name[:80]!r} has bad data_offsets")
    begin, end = offsets
    if end - begin != math.prod(shape) * DTYPE_SIZES[str(dtype)]:
        raise HeaderError(f"tensor {name[:80]!r}: data_offsets do not match its shape and dtype")
    return begin, end


def check_table(raw: bytes, data_size: int) -> TableCheck:
    """Parse a whole header and check that its tensors tile ``data_size`` bytes exactly.

    Raises:
        HeaderError: the header or an entry is malformed.
    """
    text = decode_text(raw)
    with _collector_paused():
        fast = _fast_check(text, data_size)
        return fast if fast is not None else _full_check(text, data_size)


_pause_lock = threading.Lock()
_pausing = 0
_resume = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a decoded table is alive.

    Decoding a table makes ~6,000 containers (a dict and two lists per tensor) that
    die when the check returns. With the collector running, the collections that
    fall during a decode promote them to the oldest generation, so every dozen
    files or so cost a full collection of the whole process (measured on 1,000
    files: 58 full collections, 6.0 of 8.0 s of CPU, all of it with the GIL held).
    Nothing made here is cyclic; the first collection after the pause finds the
    objects already freed. Nested and concurrent pauses (two hashing threads)
    share one: the collector is re-enabled, if it was enabled, when the last ends.
    """
    global _pausing, _resume
    with _pause_lock:
        if _pausing == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pausing -= 1
            if _pausing == 0 and _resume:
                gc.enable()


def _full_check(text: str, data_size: int) -> TableCheck:
    """The entry-by-entry check: the verdict and, for a bad header, which entry and why."""
    document = parse_document(text)
    metadata, _note = metadata_strings(document.pop("__metadata__", {}))
    spans = sorted(_entry(name, value) for name, value in document.items())
    position = 0
    for begin, end in spans:
        if begin != position:
            kind = "a gap" if begin > position else "overlapping tensors"
            return TableCheck(
                len(spans), f"the tensor data has {kind} at byte {position}", metadata
            )
        position = end
    if position > data_size:
        return TableCheck(
            len(spans),
            f"the tensor data is {position - data_size:,} bytes short: "
            "truncated or still downloading",
            metadata,
        )
    if position < data_size:
        return TableCheck(
            len(spans), f"{data_size - position:,} bytes follow the last tensor", metadata
        )
    return TableCheck(len(spans), None, metadata)


def _no_constant(name: str) -> Any:
    raise ValueError(name)


# Plain dicts built in C (no per-object Python hook); NaN and Infinity refused.
_PLAIN = json.JSONDecoder(parse_constant=_no_constant, strict=True)
_KEYS_PER_ENTRY = 3
_QUOTES_PER_ENTRY = 10
"""``"name": {"dtype": "F16", "shape": […], "data_offsets": […]}``: five strings."""
_DTYPE = itemgetter("dtype")
_SHAPE = itemgetter("shape")
_OFFSETS = itemgetter("data_offsets")
_BEGIN = itemgetter(0)
_END = itemgetter(1)


def _fast_check(text: str, data_size: int) -> TableCheck | None:
    """Accept a well-formed table that tiles the data exactly, or return None.

    None means "not shown good here", never "bad": the full check decides. Each
    rule of the full check holds for an accepted header:

    - strict JSON, an object, no NaN: one strict decode of the whole text;
    - no duplicate key: ``__metadata__`` (first, as writers put it, or absent) is
      decoded by the strict duplicate-refusing reader; after it, a table without backslashes
      has unambiguous string boundaries, and an entry with exactly the three keys
      and a string dtype holds five strings, so the quotes there number exactly ten
      per decoded entry only when no key (tensor name or entry key) repeats;
    - depth: metadata values are strings, entries objects whose shape and offsets
      are lists of integers, so nothing nests deeper than three;
    - each entry: known dtype, shape of non-negative ints, two int offsets whose
      difference is the shape's size (so begin <= end), and once sorted, each
      tensor starts where the previous ended, from 0 to ``data_size``.
    """
    try:
        key = text.find('"__metadata__"')
        if key < 0:
            metadata: dict[str, str] = {}
            table = text
        else:
            metadata, _note, meta_text = extract_metadata_text(text)
            if meta_text is None:  # not the first key, or values that are not strings
                return None
            table = text[text.index(meta_text, key) + len(meta_text) :]
        document = _PLAIN.decode(text)
    except (HeaderError, ValueError, RecursionError):
        return None
    if type(document) is not dict or "\\" in table:
        return None
    if document.pop("__metadata__", {}) != metadata:
        return None
    entries = list(document.values())
    count = len(entries)
    if (
        not count
        or table.count('"') != _QUOTES_PER_ENTRY * count
        or set(map(type, entries)) != {dict}
        or set(map(len, entries)) != {_KEYS_PER_ENTRY}
    ):
        return None
    try:
        sizes = list(map(DTYPE_SIZES.get, map(_DTYPE, entries)))
        shapes = list(map(_SHAPE, entries))
        offsets = list(map(_OFFSETS, entries))
    except (KeyError, TypeError):  # a missing key, an unhashable dtype
        return None
    if None in sizes or set(map(type, shapes)) != {list} or set(map(type, offsets)) != {list}:
        return None
    dims = list(chain.from_iterable(shapes))
    if dims and (set(map(type, dims)) != {int} or min(dims) < 0):
        return None
    if set(map(len, offsets)) != {2}:
        return None
    begins = list(map(_BEGIN, offsets))
    ends = list(map(_END, offsets))
    if set(map(type, begins)) != {int} or set(map(type, ends)) != {int}:
        return None
    if list(map(sub, ends, begins)) != list(map(mul, map(math.prod, shapes), sizes)):
        return None
    offsets.sort()
    flat = list(chain.from_iterable(offsets))  # begin, end, begin, end, … by begin
    if flat[0] != 0 or flat[1:-1:2] != flat[2::2] or flat[-1] != data_size:
        return None
    return TableCheck(count, None, metadata)
