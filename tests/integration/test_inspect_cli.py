"""The file-inspection commands end to end, in a subprocess on a temporary library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.inspect_files import kohya_metadata, write_safetensors


def _run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lora_desktop", "--database", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _json(db: Path, *args: str) -> Any:
    result = _run(db, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_add_show_list_hash_duplicates_and_scan(tmp_path: Path, lora_dir: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    first = write_safetensors(lora_dir / "red.safetensors", kohya_metadata())
    (lora_dir / "copy.safetensors").write_bytes(first.read_bytes())
    write_safetensors(lora_dir / "pony.safetensors", {"ss_sd_model_name": "ponyV6.safetensors"})
    assert _json(db, "add", str(lora_dir))["added"] == 3

    shown = _json(db, "show", "red")
    assert (shown["base_model"], shown["title"], shown["network_dim"]) == (
        "SDXL 1.0",
        "redhair_v2",
        32,
    )
    assert shown["training_metadata"]["ss_resolution"] == "(1024, 1024)"
    assert shown["trigger_candidates"] == []  # derived by the hash pass
    assert shown["sha256"] is None
    names = [a["name"] for a in _json(db, "list", "--base-model", "pony")["items"]]
    assert names == ["pony"]

    report = _json(db, "hash", "--all")
    assert (report["hashed"], report["failed"]) == (3, [])
    groups = _json(db, "list", "--duplicates")
    assert [(g["kind"], g["names"]) for g in groups] == [
        ("same_file", ["copy", "red"]),
        ("same_weights", ["copy", "pony", "red"]),  # same tensors, other metadata
    ]
    red = _json(db, "show", "red")
    assert red["autov2"] == groups[0]["hash"][:10]
    assert red["trigger_candidates"][0] == {
        "word": "ohwx woman",
        "source": "class_tokens",
        "count": None,
    }

    (lora_dir / "red.json").write_text(json.dumps({"activation text": "ohwx"}))
    scanned = _json(db, "scan", str(lora_dir / "red.safetensors"))
    assert [a["trigger_words"] for a in scanned] == [["ohwx"]]
    text = _run(db, "rescan")
    assert (text.returncode, text.stdout.strip()) == (
        0,
        "0 re-inspected, 0 missing, 0 back, 3 unchanged",
    )
