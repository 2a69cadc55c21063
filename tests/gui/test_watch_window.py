"""The window follows the disk (issue 5): real watchdog, real folders, waits on Qt signals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from lora_desktop.services import adapters, folders
from lora_desktop.services.library import Library, open_library
from lora_desktop.services.registration import register
from lora_desktop.services.watcher import ProcessResult
from lora_desktop.ui import watch_bridge, watch_wiring
from lora_desktop.ui.main_window import MainWindow
from tests.gui.conftest import WindowFactory
from tests.integration.watch_helpers import assert_metadata_kept, write, write_metadata

pytestmark = pytest.mark.gui
TIMEOUT_MS = 15_000


@pytest.fixture(autouse=True)
def _fast_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch_bridge, "SETTLE_SECONDS", 0.2)
    monkeypatch.setattr(watch_bridge, "ROOT_CHECK_MS", 200)


@pytest.fixture
def setup(tmp_path: Path, db_path: Path) -> tuple[Path, str]:
    """A watched folder with one registered adapter carrying the artist's metadata."""
    watched = tmp_path / "watched"
    lib = open_library(db_path)
    try:
        adapter = register(lib, {"file_path": str(write(watched / "a.safetensors", "a"))})
        write_metadata(lib, adapter.id)
        folders.add_folder(lib, str(watched))
    finally:
        lib.close()
    return watched, adapter.id


def _watching(qtbot: QtBot, window: MainWindow, count: int = 1) -> None:
    qtbot.waitUntil(lambda: len(window.watch.bridge.watcher.watched) == count, timeout=TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: window.watch.status_label.text().startswith(f"Watching {count} folder"),
        timeout=TIMEOUT_MS,
    )


def _row_status(window: MainWindow, adapter_id: str) -> str:
    return window.model.row_at(window.model.row_of(adapter_id)).file_status


def test_rename_delete_restore_show_in_the_list(
    qtbot: QtBot, open_window: WindowFactory, setup: tuple[Path, str]
) -> None:
    watched, adapter_id = setup
    window = open_window()
    _watching(qtbot, window)
    lib: Library = window.library
    os.rename(watched / "a.safetensors", watched / "b.safetensors")
    qtbot.waitUntil(
        lambda: adapters.get(lib, adapter_id).file_path == str(watched / "b.safetensors"),
        timeout=TIMEOUT_MS,
    )
    content = (watched / "b.safetensors").read_bytes()
    (watched / "b.safetensors").unlink()
    qtbot.waitUntil(lambda: _row_status(window, adapter_id) == "missing", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "1 missing" in window.counts_label.text(), timeout=TIMEOUT_MS)
    index = window.model.index_of(adapter_id, 3)
    assert window.model.data(index, Qt.ItemDataRole.DecorationRole) is not None  # the icon
    assert window.model.rowCount() == 1  # never deleted
    (watched / "b.safetensors").write_bytes(content)
    qtbot.waitUntil(lambda: _row_status(window, adapter_id) != "missing", timeout=TIMEOUT_MS)
    assert_metadata_kept(lib, adapter_id, "a-mine")


def test_an_unplugged_folder_is_shown_unavailable_then_back(
    qtbot: QtBot, tmp_path: Path, open_window: WindowFactory, setup: tuple[Path, str]
) -> None:
    watched, adapter_id = setup
    window = open_window()
    _watching(qtbot, window)
    os.rename(watched, tmp_path / "parked")
    qtbot.waitUntil(lambda: _row_status(window, adapter_id) == "unavailable", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "1 unavailable" in window.watch.status_label.text(), timeout=TIMEOUT_MS)
    name = window.model.index_of(adapter_id)
    unavailable = window.model.data(name, Qt.ItemDataRole.ForegroundRole)
    assert window.model.data(name, Qt.ItemDataRole.FontRole).italic()
    os.rename(tmp_path / "parked", watched)
    qtbot.waitUntil(lambda: _row_status(window, adapter_id) == "ok", timeout=TIMEOUT_MS)
    (watched / "a.safetensors").unlink()
    qtbot.waitUntil(lambda: _row_status(window, adapter_id) == "missing", timeout=TIMEOUT_MS)
    missing = window.model.data(name, Qt.ItemDataRole.ForegroundRole)
    assert missing.color() != unavailable.color()
    assert_metadata_kept(window.library, adapter_id, "a-mine")


def test_start_up_reconcile_sees_changes_made_while_closed(
    qtbot: QtBot, open_window: WindowFactory, setup: tuple[Path, str]
) -> None:
    watched, adapter_id = setup
    (watched / "a.safetensors").unlink()
    write(watched / "new.safetensors", "new")
    window = open_window()
    assert window.model.rowCount() == 1  # the first paint did not wait for the disk
    qtbot.waitUntil(lambda: _row_status(window, adapter_id) == "missing", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=TIMEOUT_MS)
    assert_metadata_kept(window.library, adapter_id, "a-mine")


def test_folders_dialog_adds_refuses_toggles_and_removes(
    qtbot: QtBot, tmp_path: Path, db_path: Path, open_window: WindowFactory, setup: tuple[Path, str]
) -> None:
    watched, _adapter_id = setup
    window = open_window()
    _watching(qtbot, window)
    dialog = window.watch.show_folders()
    assert dialog.objectName() == "foldersDialog"
    assert dialog.table.rowCount() == 1
    assert not dialog.add_path(str(db_path.parent))
    assert "database" in dialog.error_label.text()
    other = tmp_path / "other"
    write(other / "x.safetensors", "x")
    with qtbot.waitSignal(window.watch.bridge.processed, timeout=TIMEOUT_MS):
        assert dialog.add_path(str(other))
    _watching(qtbot, window, 2)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=TIMEOUT_MS)
    dialog.set_auto_import(str(other), False)
    stored = {f.path: f.auto_import for f in folders.list_folders(window.library)}
    assert stored == {str(watched): True, str(other): False}
    with qtbot.waitSignal(window.watch.bridge.processed, timeout=TIMEOUT_MS):
        assert dialog.remove_path(str(other))
    _watching(qtbot, window, 1)
    assert str(watched) in window.watch.bridge.watcher.watched


def test_rescan_action_and_a_clean_close(
    qtbot: QtBot, open_window: WindowFactory, setup: tuple[Path, str]
) -> None:
    watched, adapter_id = setup
    window = open_window()
    _watching(qtbot, window)
    assert window.watch.rescan_action.objectName() == "rescanAction"
    with qtbot.waitSignal(window.watch.bridge.processed, timeout=TIMEOUT_MS):
        window.watch.rescan_action.trigger()
    bridge = window.watch.bridge
    window.close()
    assert window.is_closed
    assert bridge.watcher.watched == []
    assert not any(
        t.name.startswith("watch") and t.is_alive() for t in __import__("threading").enumerate()
    )
    assert watched.exists()
    assert adapter_id


def _quick_key_stored(lib: Library, adapter_id: str) -> bool:
    from lora_desktop.models.tables import Adapter

    with lib.db.read() as session:
        row = session.get(Adapter, adapter_id)
        return row is not None and row.quick_key is not None


def test_locate_missing_relinks_from_a_picked_folder(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    open_window: WindowFactory,
    setup: tuple[Path, str],
) -> None:
    watched, adapter_id = setup
    window = open_window()
    _watching(qtbot, window)
    lib: Library = window.library
    qtbot.waitUntil(lambda: _quick_key_stored(lib, adapter_id), timeout=TIMEOUT_MS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = elsewhere / "renamed.safetensors"
    os.rename(watched / "a.safetensors", found)  # out of the library folders
    qtbot.waitUntil(lambda: _row_status(window, adapter_id) == "missing", timeout=TIMEOUT_MS)
    picked: list[str] = []

    def pick(*_args: object, **_kwargs: object) -> str:
        picked.append("asked")
        return str(elsewhere)

    monkeypatch.setattr(watch_wiring.QFileDialog, "getExistingDirectory", pick)
    assert window.watch.locate_action.objectName() == "locateMissingAction"
    window.watch.locate_action.trigger()
    assert picked == ["asked"]
    qtbot.waitUntil(lambda: _row_status(window, adapter_id) == "ok", timeout=TIMEOUT_MS)
    assert adapters.get(lib, adapter_id).file_path == str(found)
    qtbot.waitUntil(
        lambda: "Relinked 1 missing file" in window.statusBar().currentMessage(),
        timeout=TIMEOUT_MS,
    )
    assert window.model.rowCount() == 1
    assert_metadata_kept(lib, adapter_id, "a-mine")


def test_the_auto_import_toggle_changes_what_the_watcher_does(
    qtbot: QtBot, open_window: WindowFactory, setup: tuple[Path, str]
) -> None:
    watched, adapter_id = setup
    window = open_window()
    _watching(qtbot, window)
    seen: list[object] = []
    window.watch.bridge.processed.connect(seen.append)

    def settled(path: Path) -> bool:
        """A pass of the watcher looked at ``path`` and is not waiting for it to settle."""
        return any(
            isinstance(r, ProcessResult)
            and str(path) in r.checked
            and all(str(path) not in rep.waiting for rep in r.reports)
            for r in seen
        )

    dialog = window.watch.show_folders()
    with qtbot.waitSignal(window.watch.bridge.processed, timeout=TIMEOUT_MS):
        dialog.set_auto_import(str(watched), False)  # the check box: saved, watcher told
    assert [f.auto_import for f in folders.list_folders(window.library)] == [False]
    off = write(watched / "off.safetensors", "off")
    qtbot.waitUntil(lambda: settled(off), timeout=TIMEOUT_MS)
    assert window.model.rowCount() == 1  # seen, not imported
    assert adapters.list_adapters(window.library, {}).total == 1

    with qtbot.waitSignal(window.watch.bridge.processed, timeout=TIMEOUT_MS):
        dialog.set_auto_import(str(watched), True)
    # Turning it on imports what is there (the folder is reconciled), then new files.
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=TIMEOUT_MS)
    on = write(watched / "on.safetensors", "on")
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=TIMEOUT_MS)
    paths = {a.file_path for a in adapters.list_adapters(window.library, {}).items}
    assert paths == {str(watched / "a.safetensors"), str(off), str(on)}
    assert_metadata_kept(window.library, adapter_id, "a-mine")
