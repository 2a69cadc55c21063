"""The file-inspection commands end to end, in a subprocess on a temporary library."""

from __future__ import annotations

import json
from pathlib import Path

from tests.inspect_files import kohya_metadata, write_safetensors
from tests.integration.cli_helpers import cli_json, run_cli


def test_add_show_list_hash_duplicates_and_scan(tmp_path: Path, lora_dir: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    first = write_safetensors(lora_dir / "red.safetensors", kohya_metadata())
    (lora_dir / "copy.safetensors").write_bytes(first.read_bytes())
    write_safetensors(lora_dir / "pony.safetensors", {"ss_sd_model_name": "ponyV6.safetensors"})
    assert cli_json(db, "add", str(lora_dir))["added"] == 3

    shown = cli_json(db, "show", "red")
    assert (shown["base_model"], shown["title"], shown["network_dim"]) == (
        "SDXL 1.0",
        "redhair_v2",
        32,
    )
    assert shown["training_metadata"]["ss_resolution"] == "(1024, 1024)"
    assert shown["trigger_candidates"] == []  # derived by the hash pass
    assert shown["sha256"] is None
    names = [a["name"] for a in cli_json(db, "list", "--base-model", "pony")["items"]]
    assert names == ["pony"]

    report = cli_json(db, "hash", "--all")
    assert (report["hashed"], report["failed"]) == (3, [])
    groups = cli_json(db, "list", "--duplicates")
    assert [(g["kind"], g["names"]) for g in groups] == [
        ("same_file", ["copy", "red"]),
        ("same_weights", ["copy", "pony", "red"]),  # same tensors, other metadata
    ]
    red = cli_json(db, "show", "red")
    assert red["autov2"] == groups[0]["hash"][:10]
    assert red["trigger_candidates"][0] == {
        "word": "ohwx woman",
        "source": "class_tokens",
        "count": None,
    }

    (lora_dir / "red.json").write_text(json.dumps({"activation text": "ohwx"}))
    scanned = cli_json(db, "scan", str(lora_dir / "red.safetensors"))
    assert [a["trigger_words"] for a in scanned] == [["ohwx"]]
    text = run_cli(db, "rescan")
    assert (text.returncode, text.stdout.strip()) == (
        0,
        "0 re-inspected, 0 missing, 0 back, 3 unchanged",
    )
