"""Pickle files are scanned, never loaded: a payload is flagged and nothing runs."""

from __future__ import annotations

import collections
import io
import os
import pickle
import sys
import tarfile
import threading
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lora_desktop.services.inspect import pickle_scan
from lora_desktop.services.inspect.pickle_scan import scan_pickle_file

EVENTS: list[str] = []


def _hook(event: str, _args: tuple[Any, ...]) -> None:
    if event in ("pickle.find_class", "os.system", "subprocess.Popen"):
        EVENTS.append(event)


sys.addaudithook(_hook)  # hooks can't be removed; it only records three events


class Payload:
    """Unpickling this would run ``touch <marker>``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _scan(path: Path) -> Any:
    EVENTS.clear()
    verdict = scan_pickle_file(str(path))
    assert EVENTS == []  # no find_class, no os.system: nothing was imported or run
    return verdict


def test_a_reduce_payload_is_flagged_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"state": Payload(marker)}, protocol=4))
    verdict = _scan(path)
    assert verdict.dangerous
    assert verdict.offending == ["posix.system"]
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_every_protocol_names_its_globals(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps(Payload(tmp_path / "x"), protocol=protocol))
    assert _scan(path).offending == ["posix.system"]


def test_a_plain_state_dict_is_safe(tmp_path: Path) -> None:
    path = tmp_path / "ok.pt"
    path.write_bytes(pickle.dumps(collections.OrderedDict(a=[1, 2], b="x"), protocol=2))
    verdict = _scan(path)
    assert (verdict.dangerous, verdict.globals) == (False, ["collections.OrderedDict"])


def test_a_torch_zip_archive_scans_every_pkl_member(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(collections.OrderedDict(), protocol=2))
        archive.writestr("archive/extra.pkl", pickle.dumps(Payload(tmp_path / "x"), protocol=2))
        archive.writestr("archive/data/0", b"\x00" * 64)
    verdict = _scan(path)
    assert verdict.offending == ["posix.system"]


def test_a_computed_global_name_is_unfollowable_and_dangerous(tmp_path: Path) -> None:
    # STACK_GLOBAL whose module name comes from a tuple item, not a string literal.
    stream = io.BytesIO()
    stream.write(b"\x80\x04" + b"\x8c\x02os\x85" + b"\x8c\x06system" + b"\x93" + b".")
    path = tmp_path / "odd.pt"
    path.write_bytes(stream.getvalue())
    verdict = _scan(path)
    assert verdict.dangerous
    assert verdict.offending == ["(unscannable: a global whose name is computed (STACK_GLOBAL))"]


def test_garbage_is_dangerous_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.pth"
    path.write_bytes(b"\x00" * 32)
    verdict = _scan(path)
    assert verdict.dangerous
    assert verdict.offending[0].startswith("(unscannable: the pickle stream is malformed")


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
"""The first pickle of PyTorch's legacy layout: ``torch.load`` then unpickles four more."""


def _legacy(magic: bytes, main: bytes) -> bytes:
    """Legacy layout: magic, protocol, system info, the object, storage keys, raw storage."""
    rest = [pickle.dumps(1001, protocol=2), pickle.dumps({}, protocol=2), main]
    return magic + b"".join(rest) + pickle.dumps(["0"], protocol=2) + b"\x00" * 64


def test_a_legacy_checkpoint_is_scanned_to_its_storages(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    state = pickle.dumps(collections.OrderedDict(a=1), protocol=2)
    path.write_bytes(_legacy(pickle.dumps(LEGACY_MAGIC, protocol=2), state))
    verdict = _scan(path)
    assert (verdict.dangerous, verdict.globals) == (False, ["collections.OrderedDict"])
    evil = pickle.dumps(Payload(tmp_path / "x"), protocol=2)
    path.write_bytes(_legacy(pickle.dumps(LEGACY_MAGIC, protocol=2), evil))
    assert _scan(path).offending == ["posix.system"]


@pytest.mark.parametrize(
    "magic",
    [
        b"\x80\x02N0\x8a\x0a" + LEGACY_MAGIC.to_bytes(10, "little") + b".",  # None, pop, magic
        pickle.dumps(LEGACY_MAGIC, protocol=0),
        b"I%d\n." % LEGACY_MAGIC,
    ],
    ids=["after-a-pop", "protocol-0", "int-opcode"],
)
def test_a_legacy_magic_written_otherwise_still_gets_its_payload_scanned(
    tmp_path: Path, magic: bytes
) -> None:
    path = tmp_path / "old.pt"
    path.write_bytes(_legacy(magic, pickle.dumps(Payload(tmp_path / "x"), protocol=2)))
    assert _scan(path).offending == ["posix.system"]


def test_a_second_pickle_after_the_first_is_scanned(tmp_path: Path) -> None:
    path = tmp_path / "two.ckpt"
    path.write_bytes(pickle.dumps({}, protocol=2) + pickle.dumps(Payload(tmp_path / "x")))
    assert _scan(path).offending == ["posix.system"]


def test_a_tar_checkpoint_is_unscannable(tmp_path: Path) -> None:
    # PyTorch's oldest layout: torch.load unpickles the members of a tar archive. This
    # one's first member is named so that the file also starts as a harmless pickle.
    path = tmp_path / "ancient.pt"
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT, errors="surrogateescape") as tar:
        tar.addfile(tarfile.TarInfo(b"\x80\x02N.".decode(errors="surrogateescape")))
        data = pickle.dumps(Payload(tmp_path / "x"), protocol=2)
        info = tarfile.TarInfo("pickle")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    verdict = _scan(path)
    assert verdict.offending == [
        "(unscannable: a tar archive (PyTorch's oldest format), which is not checked)"
    ]


def test_a_long_stream_is_scanned_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.pt"
    path.write_bytes(b"\x80\x04" + b"N" * 200_000 + b".")  # 200,000 pushes of None
    tracemalloc.start()
    try:
        verdict = _scan(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not verdict.dangerous
    assert peak < 256 * 1024


def test_a_flood_of_memo_entries_is_unscannable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pickle_scan, "MEMO_MAX", 1000)
    path = tmp_path / "memo.pt"
    path.write_bytes(b"\x80\x04" + b"N\x94" * 1001 + b".")  # None, memoize: 1,001 entries
    assert _scan(path).offending == ["(unscannable: more than 1,000 memoized values)"]


def test_an_archive_swapped_for_a_fifo_after_it_was_opened_is_read_from_the_open_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(Payload(tmp_path / "x"), protocol=2))
    opened = pickle_scan.open_regular

    def open_then_swap(name: str) -> tuple[int, os.stat_result]:
        found = opened(name)
        os.replace(path, tmp_path / "moved.pt")
        os.mkfifo(path)  # another process put a pipe in its place: opening it blocks
        return found

    monkeypatch.setattr(pickle_scan, "open_regular", open_then_swap)
    outcome: list[Any] = []
    scanner = threading.Thread(target=lambda: outcome.append(_scan(path)), daemon=True)
    scanner.start()
    scanner.join(5)
    assert not scanner.is_alive(), "the scan reopened the path and blocked on the pipe"
    assert outcome[0].offending == ["posix.system"]


def test_an_archive_with_a_huge_table_of_contents_is_unscannable_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pickle_scan, "CENTRAL_DIRECTORY_MAX", 10_000)
    path = tmp_path / "many.pt"
    names = [f"archive/data/{index}" for index in range(400)]
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"")
    table = sum(46 + len(name) for name in names)  # one 46-byte record and name each
    parsed: list[str] = []
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda _self: parsed.append("x"))
    assert _scan(path).offending == [
        f"(unscannable: the archive's table of contents is too large ({table:,} bytes))"
    ]
    assert parsed == []
