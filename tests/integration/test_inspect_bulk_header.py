"""Bulk registration reads a header only as far as its leading ``__metadata__``; the hash
pass checks the rest and stores what it finds as registering the file alone would have.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lora_desktop.services import adapters, registration
from lora_desktop.services.inspect.hash_service import hash_pending
from lora_desktop.services.library import Library
from tests.inspect_files import kohya_metadata, raw_file, write_safetensors

DEEP = b"[" * 100_000 + b"]" * 100_000
PAST_THE_FIRST_READ = b" " * 70_000
"""Whitespace between the metadata and the tensor table: the problem is not in the first read."""


def _header(tail: bytes) -> bytes:
    metadata = b'{"ss_output_name": "redhair_v2", "ss_base_model_version": "sdxl_base_v1-0"}'
    return b'{"__metadata__": ' + metadata + b", " + PAST_THE_FIRST_READ + tail


CASES = {
    "invalid utf-8": (_header(b'"\xff": {}}'), b""),
    "duplicate keys": (
        _header(
            b'"t": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}, '
            b'"t": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}'
        ),
        b"\x00\x00",
    ),
    "deep nesting": (_header(b'"t": ' + DEEP + b"}"), b""),
    "a gap": (_header(b'"t": {"dtype": "F16", "shape": [2], "data_offsets": [4, 8]}}'), b"\0" * 8),
    "not closed": (_header(b'"t": {"dtype": "F16"'), b""),
}
GARBAGE = "{bulk}.civitai.info: not valid JSON; ignored"
"""The problem of a garbage sidecar each file has: kept beside the header's."""
# What the adapter shows once hashed: (inspect_error, incomplete, metadata_indexed).
EXPECTED = {
    "invalid utf-8": (
        f"header is not valid UTF-8 (byte {len(_header(b'')) + 1}); {GARBAGE}",
        False,
        False,
    ),
    "duplicate keys": (f"{GARBAGE}; header repeats the key 't'", False, True),
    "deep nesting": (f"{GARBAGE}; header JSON is nested too deeply", False, True),
    "a gap": (f"{GARBAGE}; the tensor data has a gap at byte 0", True, True),
    "not closed": (
        f"header is not valid JSON: its object is not closed (cut short?); {GARBAGE}",
        False,
        False,
    ),
}


def _write(folder: Path, stem: str, case: str) -> Path:
    header, data = CASES[case]
    (folder / f"{stem}.civitai.info").write_text("not json{")
    return raw_file(folder / f"{stem}.safetensors", len(header), header + data)


def _shown(library: Library, name: str) -> tuple[object, ...]:
    adapter = adapters.get(library, name)
    error = (adapter.inspect_error or "").replace(f"{name}.civitai", "{bulk}.civitai")
    return (error, adapter.incomplete, adapter.metadata_indexed)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_problem_after_the_metadata_is_found_by_the_hash_pass(
    library: Library, lora_dir: Path, tmp_path: Path, case: str
) -> None:
    bulk = _write(lora_dir, "bulk", case)
    alone = tmp_path / "alone"
    alone.mkdir()
    _write(alone, "single", case)

    report = registration.register_many(library, [bulk])

    garbage = GARBAGE.replace("{bulk}", "bulk")
    assert [(e.outcome, e.problem) for e in report.entries] == [("added", garbage)]
    registered = adapters.get(library, "bulk")
    assert (registered.title, registered.base_model) == ("redhair_v2", "SDXL 1.0")
    assert (registered.inspect_error, registered.metadata_indexed) == (garbage, True)
    assert registered.header_size == len(CASES[case][0])

    hashing = hash_pending(library)

    assert hashing.failed == []
    assert _shown(library, "bulk") == EXPECTED[case]
    hashed = adapters.get(library, "bulk")
    assert (hashed.sha256 is None) == hashed.incomplete
    if not hashed.metadata_indexed:
        assert hashed.training_metadata is None
    assert (hashed.title, hashed.base_model) == ("redhair_v2", "SDXL 1.0")  # as after a scan
    # As if the file had been registered alone (whole header read at once), then hashed.
    registration.register(library, {"file_path": str(alone / "single.safetensors")})
    hash_pending(library)
    assert _shown(library, "single") == _shown(library, "bulk")


def test_metadata_not_first_is_read_whole_and_refused_as_before(
    library: Library, lora_dir: Path
) -> None:
    # The tensor entry first: the whole header is read, and its invalid UTF-8 is seen
    # at registration, as before.
    header = b'{"t": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2], "x": "\xff"}, '
    header += b'"__metadata__": {"ss_output_name": "x"}}'
    raw_file(lora_dir / "late.safetensors", len(header), header + b"\0\0")

    report = registration.register_many(library, [lora_dir])

    assert [e.problem for e in report.entries] == ["header is not valid UTF-8 (byte 67)"]
    assert adapters.get(library, "late").metadata_indexed is False


def test_a_sound_file_is_not_flagged_by_the_hash_pass(library: Library, lora_dir: Path) -> None:
    metadata = kohya_metadata()
    write_safetensors(lora_dir / "good.safetensors", metadata)
    registration.register_many(library, [lora_dir])
    hash_pending(library)
    good = adapters.get(library, "good")
    assert (good.inspect_error, good.incomplete, good.metadata_indexed) == (None, False, True)
    assert good.training_metadata == metadata
    assert good.sha256 is not None
