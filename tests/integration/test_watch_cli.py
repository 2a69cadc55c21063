"""``folders add|rm|list``, ``scan`` (no path: reconcile) and ``locate-missing``, end to end;
and the library-folder rules of the services (refusals, a change made while closed)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lora_desktop.services import adapters, folders
from lora_desktop.services.errors import Conflict, FileProblem
from lora_desktop.services.library import Library
from lora_desktop.services.reconcile import reconcile
from lora_desktop.services.registration import register
from lora_desktop.services.relink import fill_quick_keys
from tests.integration.cli_helpers import cli_json, run_cli
from tests.integration.watch_helpers import assert_metadata_kept, write, write_metadata


def test_folders_scan_and_locate_missing_on_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "db" / "lib.sqlite3"
    watched = tmp_path / "watched"
    write(watched / "a.safetensors", "a")
    added = cli_json(db, "folders", "add", str(watched))
    assert added["path"] == str(watched)
    assert added["auto_import"] is True
    assert cli_json(db, "folders", "add", str(watched), "--no-auto-import")["auto_import"] is False
    assert [f["path"] for f in cli_json(db, "folders", "list")] == [str(watched)]
    assert "no auto-import" in run_cli(db, "folders", "list").stdout

    # scan without a path reconciles: auto-import is off, so nothing is added yet.
    assert cli_json(db, "scan")["added"] == []
    cli_json(db, "folders", "add", str(watched), "--auto-import")
    report = cli_json(db, "scan")
    assert len(report["added"]) == 1

    moved = tmp_path / "elsewhere" / "renamed.safetensors"
    moved.parent.mkdir()
    shutil.move(watched / "a.safetensors", moved)
    assert len(cli_json(db, "scan")["missing"]) == 1
    located = cli_json(db, "locate-missing", str(moved.parent))
    assert len(located["relinked"]) == 1
    assert cli_json(db, "show", "a")["file_path"] == str(moved)
    assert cli_json(db, "show", "a")["file_status"] == "ok"

    # Another engineer's `scan PATH` still re-inspects.
    assert run_cli(db, "scan", str(moved)).returncode == 0
    assert cli_json(db, "folders", "rm", str(watched))["path"] == str(watched)
    assert cli_json(db, "folders", "list") == []
    result = run_cli(db, "folders", "add", str(tmp_path / "nope"))
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_a_folder_holding_the_database_is_refused(library: Library, db_path: Path) -> None:
    with pytest.raises(FileProblem, match="holds the library's database"):
        folders.add_folder(library, str(db_path.parent.parent))
    with pytest.raises(FileProblem, match="does not exist"):
        folders.add_folder(library, str(db_path.parent.parent / "missing"))


def test_nested_folders_are_refused(library: Library, tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    (outer / "inner").mkdir(parents=True)
    folders.add_folder(library, str(outer))
    with pytest.raises(Conflict, match="inside the library folder"):
        folders.add_folder(library, str(outer / "inner"))
    with pytest.raises(Conflict, match="already a library folder"):
        folders.add_folder(library, str(outer))


def test_changes_made_while_the_app_was_closed_are_reconciled(
    library: Library, tmp_path: Path
) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    folders.add_folder(library, str(watched))
    ids = {}
    for name in ("moved", "deleted", "edited", "kept"):
        adapter = register(
            library, {"file_path": str(write(watched / f"{name}.safetensors", name))}
        )
        write_metadata(library, adapter.id)
        ids[name] = adapter.id
    assert fill_quick_keys(library) == 4
    # While the app is closed: a move, a delete, an edit, a new file.
    os.rename(watched / "moved.safetensors", watched / "sub.safetensors")
    (watched / "deleted.safetensors").unlink()
    write(watched / "edited.safetensors", "edited again", 5000)
    write(watched / "new.safetensors", "new")

    report = reconcile(library)
    assert report.relinked == [ids["moved"]]
    assert report.missing == [ids["deleted"]]
    assert report.changed == [ids["edited"]]
    assert len(report.added) == 1
    assert adapters.get(library, ids["moved"]).file_path == str(watched / "sub.safetensors")
    assert adapters.get(library, ids["edited"]).file_size == 5000
    assert adapters.get(library, ids["edited"]).file_status == "changed"
    for name, adapter_id in ids.items():
        assert_metadata_kept(library, adapter_id, f"{name}-mine")
    # Unchanged now: a second reconcile finds nothing to do.
    again = reconcile(library)
    assert (again.missing, again.relinked, again.added, again.changed) == ([], [], [], [])


def test_an_unplugged_folder_makes_rows_unavailable_not_missing(
    library: Library, tmp_path: Path
) -> None:
    watched = tmp_path / "drive"
    adapter = register(library, {"file_path": str(write(watched / "a.safetensors", "a"))})
    folders.add_folder(library, str(watched))
    os.rename(watched, tmp_path / "parked")
    assert reconcile(library).unavailable == [adapter.id]
    assert adapters.get(library, adapter.id).file_status == "unavailable"
    os.rename(tmp_path / "parked", watched)
    assert reconcile(library).restored == [adapter.id]
