"""The full check of a safetensors tensor table, run during the hash pass.

Every entry must name a known dtype, a shape of non-negative integers and
``data_offsets`` matching that shape; sorted by offset, the tensors must tile the
data exactly: no gap, no overlap, ending where the file ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lora_desktop.services.inspect.safetensors_header import (
    DTYPE_SIZES,
    HeaderError,
    decode_text,
    metadata_strings,
    parse_document,
)


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
    document = parse_document(decode_text(raw))
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
