"""The hash pass's tensor-table check: every rule, whichever way the header is checked.

``check_table`` takes a quick route for headers as writers make them and the
entry-by-entry route for anything else; the artist must see the same verdict
either way, so each bad header here is also run through the quick route alone.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from lora_desktop.services.inspect.hashing import hash_file
from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.tensor_table import _fast_check, _full_check, check_table
from tests.inspect_files import header_bytes, kohya_metadata, write_safetensors

META = '"__metadata__": {"ss_output_name": "red"}, '
W = '"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}'
V = '"v": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}'


def _table(*entries: str, meta: str = META) -> bytes:
    return ("{" + meta + ", ".join(entries) + "}").encode()


REFUSED = {
    "a tensor name twice": (_table(W, W), 8, "repeats the key 'w'"),
    "an entry key twice": (
        _table('"w": {"dtype": "F16", "dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}'),
        8,
        "repeats the key 'dtype'",
    ),
    "a metadata key twice": (
        _table(W, meta='"__metadata__": {"a": "1", "a": "2"}, '),
        8,
        "repeats the key 'a'",
    ),
    "__metadata__ again after the tensors": (
        _table(W, META.rstrip(", ")),
        8,
        "repeats the key '__metadata__'",
    ),
    "an unknown dtype": (_table(W.replace("F16", "F17")), 8, "unknown dtype 'F17'"),
    "a bool in the shape": (_table(W.replace("[2, 2]", "[true, 4]")), 8, "has a bad shape"),
    "a negative dimension": (_table(W.replace("[2, 2]", "[-2, -2]")), 8, "has a bad shape"),
    "a float offset": (_table(W.replace("[0, 8]", "[0.0, 8]")), 8, "has bad data_offsets"),
    "offsets not matching the shape": (
        _table(W.replace("[0, 8]", "[0, 6]")),
        6,
        "data_offsets do not match its shape and dtype",
    ),
    "a missing key": (
        _table('"w": {"dtype": "F16", "shape": [2, 2]}'),
        8,
        "'w' has bad data_offsets",
    ),
    "an entry that is not an object": (_table('"w": [1]'), 0, "'w' is not an object"),
    "a deeply nested extra key": (
        _table('"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8], "x": [[[1]]]}'),
        8,
        "'w' is nested too deeply",
    ),
    "NaN": (_table(W.replace("[2, 2]", "[NaN]")), 8, "holds NaN, which is not JSON"),
    "an integer of 5,000 digits": (
        _table(W, '"v": {"dtype": "F16", "shape": [0], "data_offsets": [' + "1" * 5000 + ", 1]}"),
        8,
        "header holds a number of 5,000 digits, which is too long to read",
    ),
    "data after the object": (_table(W) + b" x", 8, "not valid JSON"),
    "an array": (b"[1]", 8, "not a JSON object"),
}

INCOMPLETE = {
    "overlapping tensors": (
        _table(W, V.replace("[8, 12]", "[4, 8]")),
        12,
        "the tensor data has overlapping tensors at byte 8",
    ),
    "a gap": (
        _table(W, V.replace("[8, 12]", "[10, 14]")),
        14,
        "the tensor data has a gap at byte 8",
    ),
    "bytes after the last tensor": (_table(W, V), 20, "8 bytes follow the last tensor"),
    "data cut short": (
        _table(W, V),
        10,
        "the tensor data is 2 bytes short: truncated or still downloading",
    ),
}

GOOD = {
    "spaced, metadata first": (_table(W, V), 12, 2),
    "compact": (
        b'{"__metadata__":{"a":"1"},"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}',
        8,
        1,
    ),
    "no metadata": (_table(W, meta=""), 8, 1),
    "metadata last": (("{" + W + ", " + META.rstrip(", ") + "}").encode(), 8, 1),
    "entry keys in another order": (
        _table('"w": {"shape": [2, 2], "dtype": "F16", "data_offsets": [0, 8]}'),
        8,
        1,
    ),
    "an escaped tensor name": (
        _table('"w\\"data_offsets": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}'),
        8,
        1,
    ),
    "a non-ASCII name written escaped": (_table(W.replace('"w"', '"w\\u00e9"')), 8, 1),
    "a scalar tensor": (
        _table('"w": {"dtype": "F16", "shape": [], "data_offsets": [0, 2]}'),
        2,
        1,
    ),
    "metadata values that are not strings": (_table(W, meta='"__metadata__": {"a": 1}, '), 8, 1),
    "no tensors": (b'{"__metadata__": {"a": "1"}}', 0, 0),
}


@pytest.mark.parametrize(("raw", "size", "message"), REFUSED.values(), ids=list(REFUSED))
def test_a_bad_table_is_refused_with_its_reason(raw: bytes, size: int, message: str) -> None:
    with pytest.raises(HeaderError) as caught:
        check_table(raw, size)
    assert message in caught.value.message
    assert _fast_check(raw, raw.decode(), size) is None  # the quick route never lets it through


@pytest.mark.parametrize(("raw", "size", "message"), INCOMPLETE.values(), ids=list(INCOMPLETE))
def test_data_that_does_not_tile_is_incomplete(raw: bytes, size: int, message: str) -> None:
    assert check_table(raw, size).incomplete == message
    assert _fast_check(raw, raw.decode(), size) is None


@pytest.mark.parametrize(("raw", "size", "tensors"), GOOD.values(), ids=list(GOOD))
def test_a_good_table_is_accepted_either_way(raw: bytes, size: int, tensors: int) -> None:
    verdict = check_table(raw, size)
    assert (verdict.tensors, verdict.incomplete) == (tensors, None)
    assert verdict == _full_check(raw.decode(), size)
    quick = _fast_check(raw, raw.decode(), size)
    assert quick is None or quick == verdict


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_a_writers_header_takes_the_quick_route(
    separators: tuple[str, str], ascii_only: bool
) -> None:
    names = {f"lora_unet_{i}.lora_down.weight": ("F16", [4, 8]) for i in range(50)}
    metadata = kohya_metadata() | {"ss_output_name": "ねこ café"}
    raw, size = header_bytes(names, metadata)
    raw = json.dumps(json.loads(raw), separators=separators, ensure_ascii=ascii_only).encode()
    quick = _fast_check(raw, raw.decode(), size)
    assert quick is not None
    assert quick == _full_check(raw.decode(), size)
    assert quick.metadata == metadata


def test_the_hash_pass_reports_a_repeated_tensor_name(tmp_path: Path) -> None:
    path = tmp_path / "dup.safetensors"
    raw = _table(W, W.replace("[0, 8]", "[8, 16]"))
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(16))
    result = hash_file(str(path))
    assert result.header_problem == "header repeats the key 'w'"
    assert result.sha256 is not None  # a bad table is a problem shown, not an incomplete file


def test_a_file_with_a_good_table_is_hashed_and_complete(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "a.safetensors", kohya_metadata())
    result = hash_file(str(path))
    assert (result.incomplete, result.header_problem) == (None, None)
    assert result.sha256 is not None


def test_the_garbage_collector_is_left_as_it_was_found() -> None:
    good, bad = GOOD["spaced, metadata first"], REFUSED["a tensor name twice"]
    assert gc.isenabled()
    check_table(good[0], good[1])
    with pytest.raises(HeaderError):
        check_table(bad[0], bad[1])
    assert gc.isenabled()
    gc.disable()
    try:
        check_table(good[0], good[1])
        assert not gc.isenabled()  # the app's own choice is kept
    finally:
        gc.enable()
