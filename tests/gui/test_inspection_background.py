"""Hashing in the background (progress, cancel, close), duplicates dialog, dangerous activation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from lora_desktop.models.schemas import HashReport
from lora_desktop.services import adapters
from lora_desktop.services.inspect.hash_service import hash_pending
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.adapter_rows import COL_NAME
from lora_desktop.ui.main_window import MainWindow
from tests.gui.inspection_helpers import (
    build_window,
    editor_activating_dangerous,
    kohya_metadata,
    register_dangerous,
    write_big_sparse,
    write_safetensors,
)

pytestmark = pytest.mark.gui


def _some_files(library: Library, folder: Path, count: int = 5) -> None:
    for n in range(count):
        data = bytes([n]) * 4096
        write_safetensors(
            folder / f"f{n}.safetensors", kohya_metadata(), {"w": ("F16", [2048])}, data=data
        )
    register_many(library, [folder])


def test_hashes_arrive_in_the_background_with_progress(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    _some_files(library, lora_dir)
    window = build_window(qtbot, db_path, show=False)
    seen: list[tuple[int, int, object, object]] = []
    window.inspection.hashing.progress.connect(lambda *values: seen.append(values))
    with qtbot.waitSignal(window.inspection.hashing.finished, timeout=20_000) as finished:
        window.show()  # start-up hashing begins after the first paint
    report = finished.args[0]
    assert isinstance(report, HashReport)
    assert report.hashed == 5
    assert not report.stopped
    assert seen[-1][:2] == (5, 5)
    assert seen[-1][2] == seen[-1][3] > 0
    first = adapters.get(library, "f0")
    assert first.sha256 is not None
    window.select_adapter(first.id)
    qtbot.waitUntil(lambda: first.sha256 in window.editor.inspection.hashes_label.text())
    qtbot.waitUntil(lambda: window.model.row_at(window.model.row_of(first.id)).sha256 is not None)
    qtbot.waitUntil(lambda: window.inspection.hash_widget.isHidden())


def test_hashing_shows_files_and_bytes_and_cancel_stops_it(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    write_big_sparse(lora_dir / "huge.safetensors", gib=4)
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path, show=False)
    widget = window.inspection.hash_widget
    with qtbot.waitSignal(window.inspection.hashing.started, timeout=10_000):
        window.show()
    assert widget.isVisible()
    assert widget.bar.objectName() == "hashProgress"
    cancel = widget.cancel_button
    with qtbot.waitSignal(window.inspection.hashing.finished, timeout=20_000) as finished:
        cancel.click()
    report = finished.args[0]
    assert isinstance(report, HashReport)
    assert report.stopped
    assert report.hashed == 0
    assert adapters.get(library, "huge").sha256 is None
    qtbot.waitUntil(widget.isHidden)


def test_closing_during_a_hash_run_stops_it_promptly(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    write_big_sparse(lora_dir / "huge.safetensors", gib=4)
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path, show=False)
    with qtbot.waitSignal(window.inspection.hashing.started, timeout=10_000):
        window.show()
    started = time.monotonic()
    window.close()
    assert window.is_closed
    assert time.monotonic() - started < 5
    assert not window.inspection.hashing.busy or window.is_closed
    assert adapters.get(library, "huge").sha256 is None


def test_an_import_is_hashed_afterwards(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    window = build_window(qtbot, db_path)
    _make = write_safetensors(lora_dir / "late.safetensors", kohya_metadata())
    with qtbot.waitSignal(window.inspection.hashing.finished, timeout=20_000):
        window.import_paths([str(_make)])
    qtbot.waitUntil(lambda: adapters.get(library, "late").sha256 is not None, timeout=10_000)


def test_find_duplicates_lists_groups_and_double_click_selects(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    for name in ("one", "two", "unique"):
        data = (b"same" if name != "unique" else b"diff") * 256
        write_safetensors(
            lora_dir / f"{name}.safetensors", {"a": "b"}, {"w": ("F16", [512])}, data=data
        )
    register_many(library, [lora_dir])
    hash_pending(library)
    window = build_window(qtbot, db_path)
    window.inspection.find_duplicates_action.trigger()
    dialog = window.inspection.duplicates_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.objectName() == "duplicatesDialog"
    tree = dialog.tree
    assert tree.topLevelItemCount() == 1
    group = tree.topLevelItem(0)
    assert group.text(0).startswith("Same file (SHA-256")
    assert [group.child(i).text(0) for i in range(group.childCount())] == ["one", "two"]
    leaf = group.child(1)
    rect = tree.visualItemRect(leaf)
    # What a real double-click sends: a click, then the double-click.
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    two = adapters.get(library, "two").id
    qtbot.waitUntil(lambda: window.list_view.current_id() == two)


def _box_button(window: MainWindow, qtbot: QtBot, name: str) -> QPushButton:
    qtbot.waitUntil(
        lambda: (
            window.inspection.dangerous_box is not None
            and window.inspection.dangerous_box.isVisible()
        )
    )
    box = window.inspection.dangerous_box
    assert box is not None
    assert "posix.system" in box.informativeText()
    button = box.findChild(QPushButton, name)
    assert button is not None
    return button


def test_space_on_a_dangerous_adapter_asks_and_refusing_keeps_it_off(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    evil = register_dangerous(library, lora_dir)
    window = build_window(qtbot, db_path)
    window.select_adapter(evil)
    assert "dangerous" in window.model.index_of(evil, 3).data()
    assert "posix.system" in window.editor.inspection.state_label.text()
    window.list_view.setFocus()
    qtbot.keyClick(window.list_view, Qt.Key.Key_Space)
    _box_button(window, qtbot, "dangerousCancelButton").click()
    assert adapters.get(library, evil).active is False
    # The check box asks too; "Activate anyway" activates.
    index = window.model.index_of(evil, COL_NAME)
    assert not window.model.setData(index, Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert adapters.get(library, evil).active is False
    _box_button(window, qtbot, "activateAnywayButton").click()
    assert adapters.get(library, evil).active is True
    qtbot.waitUntil(lambda: index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked)


def test_the_editor_asks_before_saving_a_dangerous_activation(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    window, evil = editor_activating_dangerous(library, lora_dir, db_path, qtbot)
    editor = window.editor
    editor.save_button.click()

    def box_shown() -> bool:
        return editor.dangerous_box is not None and editor.dangerous_box.isVisible()

    qtbot.waitUntil(box_shown)
    assert editor.dangerous_box is not None
    editor.dangerous_box.findChild(QPushButton, "dangerousCancelButton").click()
    assert adapters.get(library, evil).active is False
    assert not editor.active_check.isChecked()  # the editor shows what is stored
    assert not editor.is_dirty
    editor.active_check.setChecked(True)
    editor.save_button.click()
    qtbot.waitUntil(box_shown)
    assert editor.dangerous_box is not None
    editor.dangerous_box.findChild(QPushButton, "activateAnywayButton").click()
    assert adapters.get(library, evil).active is True
    assert not editor.is_dirty


def test_the_list_marks_a_file_with_a_problem_and_its_tooltip_says_what(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    import struct

    write_safetensors(lora_dir / "fine.safetensors", kohya_metadata())
    (lora_dir / "broken.safetensors").write_bytes(struct.pack("<Q", 4) + b"[1] ")
    register_many(library, [lora_dir])
    broken, fine = adapters.get(library, "broken").id, adapters.get(library, "fine").id
    window = build_window(qtbot, db_path)
    status = window.model.index_of(broken, 3)
    assert status.data() == "ok · problem"
    tip = str(status.data(Qt.ItemDataRole.ToolTipRole))
    assert "Problem: header is not a JSON object" in tip
    assert window.model.index_of(fine, 3).data() == "ok"
