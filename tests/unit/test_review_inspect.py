"""Bad files found in a review of file inspection: each gets its own problem, the batch goes on."""

from __future__ import annotations

import collections
import json
import os
import pickle
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from lora_desktop.services import adapters
from lora_desktop.services.inspect.hash_service import hash_pending
from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.safetensors_header import read_header, read_header_prefix
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from tests.inspect_files import kohya_metadata, raw_file, write_safetensors

LONE = "\\ud800"
"""A JSON escape of half a surrogate pair: valid JSON grammar, but no character (safetensors'
own reader refuses it, and the database cannot store it)."""


@pytest.mark.parametrize("reader", [read_header, read_header_prefix])
@pytest.mark.parametrize(
    "metadata",
    [
        f'{{"ss_output_name": "red{LONE}"}}',
        f'{{"{LONE}": "v", "ss_output_name": "red"}}',
    ],
    ids=["value", "key"],
)
def test_a_lone_surrogate_escape_in_metadata_is_not_valid_text(
    tmp_path: Path, reader: Callable[[str], object], metadata: str
) -> None:
    body = f'{{"__metadata__": {metadata}}}'.encode()
    path = raw_file(tmp_path / "odd.safetensors", len(body), body)
    with pytest.raises(HeaderError) as caught:
        reader(str(path))
    assert caught.value.message == (
        "header is not valid UTF-8: __metadata__ escapes a lone surrogate (\\ud800)"
    )


def test_lone_surrogates_in_a_batch_are_problems_and_the_rest_is_registered(
    library: Library, lora_dir: Path
) -> None:
    body = f'{{"__metadata__": {{"ss_output_name": "red{LONE}"}}}}'.encode()
    raw_file(lora_dir / "header.safetensors", len(body), body)
    write_safetensors(
        lora_dir / "tags.safetensors",
        kohya_metadata(ss_tag_frequency=f'{{"10_a b": {{"ok": 3, "{LONE}": 5}}}}'),
    )
    write_safetensors(lora_dir / "sidecar.safetensors", {})
    (lora_dir / "sidecar.civitai.info").write_text(f'{{"model": {{"name": "x{LONE}"}}}}')
    write_safetensors(lora_dir / "good.safetensors", kohya_metadata())

    report = register_many(library, [lora_dir])
    hash_pending(library)

    problems = {Path(e.path).name: e.problem for e in report.entries}
    assert report.added == 4
    assert problems["header.safetensors"] == (
        "header is not valid UTF-8: __metadata__ escapes a lone surrogate (\\ud800)"
    )
    assert problems["sidecar.safetensors"] == (
        "sidecar.civitai.info: holds an escaped lone surrogate (\\ud800), not text; ignored"
    )
    assert adapters.get(library, "good").title == "redhair_v2"
    tags = adapters.get(library, "tags")
    assert [c.word for c in tags.trigger_candidates if c.source == "tag_frequency"] == []
    assert tags.inspect_error == (
        "ss_tag_frequency holds an escaped lone surrogate (\\ud800), not text; ignored"
    )
    # Everything stored can be shown as UTF-8 (the CLI's JSON, the window).
    for entry in adapters.list_adapters(library, {"limit": 10}).items:
        json.dumps(entry.model_dump(mode="json"), ensure_ascii=False).encode()


class _Payload:
    """Unpickling this would run ``touch <marker>``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_importing_and_hashing_pickles_never_unpickles_anything(
    library: Library, lora_dir: Path
) -> None:
    marker = lora_dir.parent / "pwned"
    evil = pickle.dumps({"w": _Payload(marker)}, protocol=2)
    (lora_dir / "plain.pt").write_bytes(evil)
    with zipfile.ZipFile(lora_dir / "zipped.ckpt", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", evil)
    (lora_dir / "safe.bin").write_bytes(pickle.dumps(collections.OrderedDict(a=1), protocol=2))
    events: list[str] = []
    watching = [True]

    def hook(event: str, _args: tuple[object, ...]) -> None:
        if watching[0] and event in ("pickle.find_class", "os.system", "subprocess.Popen"):
            events.append(event)

    sys.addaudithook(hook)  # cannot be removed: it stops recording when the test ends
    try:
        register_many(library, [lora_dir])
        hash_pending(library)
    finally:
        watching[0] = False

    assert events == []
    assert not marker.exists()
    shown = {a.name: a for a in adapters.list_adapters(library, {"limit": 10}).items}
    assert (shown["plain"].dangerous, shown["plain"].dangerous_globals) == (True, ["posix.system"])
    assert shown["zipped"].dangerous_globals == ["posix.system"]
    assert not shown["safe"].dangerous
    assert all(a.sha256 for a in shown.values())
