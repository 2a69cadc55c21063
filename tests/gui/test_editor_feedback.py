"""What the detail editor tells the artist: after a refused activation, about a file's
metadata, and when an image drop can't be a preview."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from lora_desktop.services import adapters
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.main_window import MainWindow
from tests.gui.conftest import drop_urls
from tests.gui.inspection_helpers import (
    build_window,
    editor_activating_dangerous,
    kohya_metadata,
    write_png,
    write_safetensors,
)

pytestmark = pytest.mark.gui


def _ask_box(window: MainWindow, qtbot: QtBot) -> QMessageBox:
    editor = window.editor
    editor.save_button.click()
    qtbot.waitUntil(lambda: editor.dangerous_box is not None and editor.dangerous_box.isVisible())
    assert editor.dangerous_box is not None
    return editor.dangerous_box


def test_cancelling_a_dangerous_activation_unticks_active_in_the_editor(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    window, evil = editor_activating_dangerous(library, lora_dir, db_path, qtbot)
    editor = window.editor
    box = _ask_box(window, qtbot)
    button = box.findChild(QPushButton, "dangerousCancelButton")
    assert button is not None
    button.click()
    assert adapters.get(library, evil).active is False
    assert not editor.active_check.isChecked()  # shows what is stored
    assert not editor.is_dirty
    assert not editor.save_button.isEnabled()
    assert "not activated" in window.statusBar().currentMessage()


def test_escape_on_the_box_keeps_the_other_edits_unsaved_and_says_so(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    window, evil = editor_activating_dangerous(library, lora_dir, db_path, qtbot)
    editor = window.editor
    editor.notes_edit.setPlainText("from a friend")
    box = _ask_box(window, qtbot)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: editor.dangerous_box is None)
    stored = adapters.get(library, evil)
    assert stored.active is False
    assert stored.notes == ""
    assert not editor.active_check.isChecked()
    assert editor.patch() == {"notes": "from a friend"}  # the one real unsaved change
    assert editor.save_button.isEnabled()
    assert "other changes are not saved yet" in window.statusBar().currentMessage()
    editor.save_button.click()  # no box now: nothing dangerous is asked for
    assert adapters.get(library, evil).notes == "from a friend"
    assert adapters.get(library, evil).active is False
    assert not editor.is_dirty


def _state_and_toggle(window: MainWindow, library: Library, name: str) -> tuple[str, str]:
    assert window.select_adapter(adapters.get(library, name).id)
    pane = window.editor.inspection
    return pane.state_label.text(), pane.metadata.toggle.text()


def test_the_editor_says_why_a_file_has_no_training_metadata(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    (lora_dir / "plain.pt").write_bytes(pickle.dumps({"w": [1.0, 2.0]}))  # a safe pickle
    (lora_dir / "cut.safetensors").write_bytes(struct.pack("<Q", 400) + b'{"__meta')
    claimed = 40 * 2**20  # over the 32 MiB index cap, and present (a sparse file)
    with (lora_dir / "huge.safetensors").open("wb") as handle:
        handle.write(struct.pack("<Q", claimed) + b"{")
        handle.truncate(8 + claimed)
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)

    state, toggle = _state_and_toggle(window, library, "plain")
    assert "Pickle file: no training metadata (never loaded)" in state
    assert "not indexed" not in state.lower()
    assert toggle == "Training metadata: none (pickle file)"

    state, toggle = _state_and_toggle(window, library, "cut")
    assert "Problem: " in state  # the line the new one points at
    assert "No training metadata: the header could not be read (see Problem)" in state
    assert "not indexed" not in state.lower()
    assert toggle == "Training metadata: none (header not read)"

    state, toggle = _state_and_toggle(window, library, "huge")
    assert "Metadata not indexed (header over 32 MiB)" in state
    assert toggle == "Training metadata: not indexed"


def test_several_images_dropped_on_the_editor_say_a_preview_takes_one(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    write_safetensors(lora_dir / "pic.safetensors", kohya_metadata())
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    assert window.select_adapter(adapters.get(library, "pic").id)
    preview = window.editor.inspection.preview
    images = [
        write_png(tmp_path / "shots" / "one.png", "#208020"),
        write_png(tmp_path / "shots" / "two.jpg", "#802020"),
    ]
    urls = [QUrl.fromLocalFile(str(p)) for p in images]
    for target in (window.editor.name_edit, preview, window.editor.file_info):
        window.statusBar().clearMessage()
        drop = drop_urls(target, urls)
        assert drop.isAccepted()
        qtbot.waitUntil(lambda: "preview takes one image" in window.statusBar().currentMessage())
        assert "2 were dropped" in window.statusBar().currentMessage()
    assert not window.imports.busy  # nothing imported as a LoRA
    assert window.last_report is None
    assert preview.choice_box is None  # and no picture proposed
    assert adapters.list_adapters(library).total == 1
    assert window.editor.name_edit.text() == "pic"
    # A LoRA dropped on the editor (even on a label) is still imported.
    new = write_safetensors(tmp_path / "more" / "two.safetensors", kohya_metadata())
    drop_urls(window.editor.file_info, [QUrl.fromLocalFile(str(new))])
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=10_000)
