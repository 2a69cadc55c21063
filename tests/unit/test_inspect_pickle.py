"""Pickle files are scanned, never loaded: a payload is flagged and nothing runs."""

from __future__ import annotations

import collections
import io
import os
import pickle
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

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
